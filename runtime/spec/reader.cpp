// runtime/spec/reader: typed reads from a parsed JSON document where every refusal names the
// JSON path. The messages here are the vocabulary every section parser shares.
#include "runtime/spec/reader.hpp"

namespace berth::runtime::spec::detail {

std::string at(const std::string& path, std::string_view key) {
    if (path.empty()) return std::string(key);
    return strCat(path, ".", key);
}

std::string at(const std::string& path, size_t index) {
    return strCat(path, "[", index, "]");
}

std::string atKey(const std::string& path, const std::string& key) {
    return strCat(path, "[", json(key).dump(), "]");
}

std::string describe(const json& v) {
    switch (v.type()) {
        case json::value_t::object:
            return "an object";
        case json::value_t::array:
            return "an array";
        case json::value_t::string: {
            // Long strings would drown the message; the path already says where to look.
            std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
            if (s.size() > 48) s = s.substr(0, 44) + "...\"";
            return s;
        }
        default:
            return v.dump();
    }
}

const json* find(const json& obj, std::string_view key) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return nullptr;
    return &*it;
}

Status expectObject(const Ctx& c, const json& v, const std::string& path) {
    if (!v.is_object()) return fail(c, path, "must be an object, got ", describe(v));
    return {};
}

Status expectArray(const Ctx& c, const json& v, const std::string& path) {
    if (!v.is_array()) return fail(c, path, "must be an array, got ", describe(v));
    return {};
}

Status asString(const Ctx& c, const json& v, const std::string& path, std::string& out) {
    if (!v.is_string()) return fail(c, path, "must be a string, got ", describe(v));
    out = v.get_ref<const std::string&>();
    return {};
}

Status asBool(const Ctx& c, const json& v, const std::string& path, bool& out) {
    if (!v.is_boolean()) return fail(c, path, "must be a boolean, got ", describe(v));
    out = v.get<bool>();
    return {};
}

Status asStringArray(const Ctx& c, const json& v, const std::string& path,
                     std::vector<std::string>& out) {
    if (!v.is_array()) return fail(c, path, "must be an array of strings, got ", describe(v));
    std::vector<std::string> items;
    items.reserve(v.size());
    for (size_t i = 0; i < v.size(); ++i) {
        if (!v[i].is_string())
            return fail(c, at(path, i), "must be a string, got ", describe(v[i]));
        items.push_back(v[i].get_ref<const std::string&>());
    }
    out = std::move(items);
    return {};
}

Status asStringMap(const Ctx& c, const json& v, const std::string& path,
                   std::map<std::string, std::string>& out) {
    if (!v.is_object())
        return fail(c, path, "must be an object of string values, got ", describe(v));
    std::map<std::string, std::string> items;
    for (auto it = v.begin(); it != v.end(); ++it) {
        if (!it->is_string())
            return fail(c, atKey(path, it.key()), "must be a string, got ", describe(*it));
        items.emplace(it.key(), it->get_ref<const std::string&>());
    }
    out = std::move(items);
    return {};
}

Status readString(const Ctx& c, const json& obj, std::string_view key, const std::string& path,
                  std::string& out) {
    if (const json* v = find(obj, key)) return asString(c, *v, at(path, key), out);
    return {};
}

Status readBool(const Ctx& c, const json& obj, std::string_view key, const std::string& path,
                bool& out) {
    if (const json* v = find(obj, key)) return asBool(c, *v, at(path, key), out);
    return {};
}

Status readStringArray(const Ctx& c, const json& obj, std::string_view key, const std::string& path,
                       std::vector<std::string>& out) {
    if (const json* v = find(obj, key)) return asStringArray(c, *v, at(path, key), out);
    return {};
}

Status readStringMap(const Ctx& c, const json& obj, std::string_view key, const std::string& path,
                     std::map<std::string, std::string>& out) {
    if (const json* v = find(obj, key)) return asStringMap(c, *v, at(path, key), out);
    return {};
}

Status requireString(const Ctx& c, const json& obj, std::string_view key, const std::string& path,
                     std::string& out) {
    const json* v = find(obj, key);
    if (!v) return fail(c, at(path, key), "is required");
    TRY(asString(c, *v, at(path, key), out));
    if (out.empty()) return fail(c, at(path, key), "must not be empty");
    return {};
}

bool isAbsolute(const std::string& p) {
    return !p.empty() && p.front() == '/';
}

}  // namespace berth::runtime::spec::detail
