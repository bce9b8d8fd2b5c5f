// runtime/spec/hooks: the hooks object — parsed from config.json and round-tripped through the
// state store, which keeps poststop hooks for `delete` after the bundle may be gone.
#include <utility>

#include "runtime/spec/sections.hpp"

namespace berth::runtime::spec::detail {

namespace {

using HookList = std::vector<Hook> Hooks::*;

// Spec order, which is also the order they run in a container's life.
constexpr std::pair<const char*, HookList> kEvents[] = {
    {"prestart", &Hooks::prestart},
    {"createRuntime", &Hooks::createRuntime},
    {"createContainer", &Hooks::createContainer},
    {"startContainer", &Hooks::startContainer},
    {"poststart", &Hooks::poststart},
    {"poststop", &Hooks::poststop},
};

Status parseHook(const Ctx& c, const json& v, const std::string& path, Hook& h) {
    TRY(expectObject(c, v, path));
    TRY(requireString(c, v, "path", path, h.path));
    if (!isAbsolute(h.path))
        return fail(c, at(path, "path"), "must be an absolute path, got ", describe(h.path));
    TRY(readStringArray(c, v, "args", path, h.args));
    TRY(readStringArray(c, v, "env", path, h.env));
    TRY(readInt(c, v, "timeout", path, h.timeout));
    if (h.timeout && *h.timeout <= 0)
        return fail(c, at(path, "timeout"), "must be greater than zero, got ", *h.timeout);
    return {};
}

json hookToJson(const Hook& h) {
    json j = json::object();
    j["path"] = h.path;
    if (!h.args.empty()) j["args"] = h.args;
    if (!h.env.empty()) j["env"] = h.env;
    if (h.timeout) j["timeout"] = *h.timeout;
    return j;
}

}  // namespace

Status parseHooksAt(const Ctx& c, const json& v, const std::string& path, Hooks& out) {
    TRY(expectObject(c, v, path));
    for (const auto& [name, list] : kEvents) {
        const json* arr = find(v, name);
        if (!arr) continue;
        std::string ap = at(path, name);
        TRY(expectArray(c, *arr, ap));
        std::vector<Hook>& hooks = out.*list;
        hooks.resize(arr->size());
        for (size_t i = 0; i < arr->size(); ++i) TRY(parseHook(c, (*arr)[i], at(ap, i), hooks[i]));
    }
    return {};
}

}  // namespace berth::runtime::spec::detail

namespace berth::runtime::spec {

Result<Hooks> parseHooks(const nlohmann::json& j, const std::string& what) {
    Hooks h;
    // A state file written for a container without hooks may hold null.
    if (j.is_null()) return h;
    TRY(detail::parseHooksAt(detail::Ctx{what, nullptr}, j, "", h));
    return h;
}

Result<Hooks> hooksOfConfig(const nlohmann::json& config, const std::string& what) {
    // Only an object is asked for its member: json::value() throws on anything else, and a
    // state.json without a config (null) or with a corrupt one reaches here from delete.
    if (config.is_null()) return Hooks{};
    if (!config.is_object())
        return detail::fail(detail::Ctx{what, nullptr}, "config", "must be an object, got ",
                            detail::describe(config));
    const nlohmann::json* hooks = detail::find(config, "hooks");
    return parseHooks(hooks ? *hooks : nlohmann::json(), what);
}

nlohmann::json hooksToJson(const Hooks& h) {
    nlohmann::json j = nlohmann::json::object();
    for (const auto& [name, list] : detail::kEvents) {
        const std::vector<Hook>& hooks = h.*list;
        if (hooks.empty()) continue;
        nlohmann::json arr = nlohmann::json::array();
        for (const Hook& hook : hooks) arr.push_back(detail::hookToJson(hook));
        j[name] = std::move(arr);
    }
    return j;
}

}  // namespace berth::runtime::spec
