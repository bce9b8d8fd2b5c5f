#include "images/bundle_config.hpp"

#include <charconv>

#include "common/fs.hpp"

namespace berth::images {

using nlohmann::json;

namespace {

bool parseId(const std::string& s, uint32_t& out) {
    if (s.empty()) return false;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size();
}

// Lines of a passwd/group file split on ':'; comments and short lines skipped.
std::vector<std::vector<std::string>> records(const std::string& text, size_t minFields) {
    std::vector<std::vector<std::string>> out;
    for (const auto& line : fs::split(text, '\n')) {
        if (line.empty() || line[0] == '#') continue;
        auto f = fs::split(line, ':');
        if (f.size() >= minFields) out.push_back(std::move(f));
    }
    return out;
}

}  // namespace

Result<UserIds> resolveUser(const std::string& user, const std::string& passwd, const std::string& group) {
    UserIds ids;
    if (user.empty()) return ids;
    auto colon = user.find(':');
    std::string u = user.substr(0, colon), g = colon == std::string::npos ? "" : user.substr(colon + 1);
    std::string userName;
    bool found = false;
    uint32_t id;
    for (const auto& f : records(passwd, 4)) {
        uint32_t fuid, fgid;
        if (!parseId(f[2], fuid) || !parseId(f[3], fgid)) continue;
        if (f[0] == u || (parseId(u, id) && id == fuid)) {
            ids.uid = fuid, ids.gid = fgid, userName = f[0], found = true;
            break;
        }
    }
    if (!found) {
        if (!parseId(u, ids.uid)) return Error::make("user \"", u, "\" is not in the image's /etc/passwd");
        ids.gid = 0;
    }
    auto groups = records(group, 3);
    if (!g.empty()) {
        bool gfound = false;
        for (const auto& f : groups) {
            uint32_t fgid;
            if (parseId(f[2], fgid) && (f[0] == g || (parseId(g, id) && id == fgid))) {
                ids.gid = fgid, gfound = true;
                break;
            }
        }
        if (!gfound && !parseId(g, ids.gid)) return Error::make("group \"", g, "\" is not in the image's /etc/group");
        return ids;  // an explicit group replaces the supplementary ones, as docker does
    }
    if (userName.empty()) return ids;
    for (const auto& f : groups) {
        uint32_t fgid;
        if (f.size() < 4 || !parseId(f[2], fgid) || fgid == ids.gid) continue;
        for (const auto& member : fs::split(f[3], ','))
            if (member == userName) ids.additionalGids.push_back(fgid);
    }
    return ids;
}

Result<json> specFromImage(const ImageConfig& cfg, json spec, const UserIds& user, const std::vector<std::string>& args,
                           bool keepBaseCommand) {
    std::vector<std::string> argv = cfg.entrypoint;
    const auto& tail = args.empty() ? cfg.cmd : args;
    argv.insert(argv.end(), tail.begin(), tail.end());
    json& p = spec["process"];
    bool keep = argv.empty() && keepBaseCommand && p.contains("args") && !p["args"].empty();
    if (argv.empty() && !keep) return Error::make("the image has no Entrypoint or Cmd: give a command");
    if (!keep) p["args"] = argv;
    p["terminal"] = false;
    p["cwd"] = cfg.workingDir.empty() ? "/" : cfg.workingDir;
    p["user"] = {{"uid", user.uid}, {"gid", user.gid}};
    if (!user.additionalGids.empty()) p["user"]["additionalGids"] = user.additionalGids;
    // The image's variables win over the base spec's, key by key, keeping the base's order.
    std::vector<std::string> env;
    for (const auto& e : p.value("env", std::vector<std::string>{})) {
        std::string key = e.substr(0, e.find('='));
        bool overridden = false;
        for (const auto& ie : cfg.env) overridden |= ie.substr(0, ie.find('=')) == key;
        if (!overridden) env.push_back(e);
    }
    env.insert(env.end(), cfg.env.begin(), cfg.env.end());
    p["env"] = env;
    spec["root"] = {{"path", "rootfs"}, {"readonly", false}};
    json ann = spec.value("annotations", json::object());
    for (const auto& [k, v] : cfg.labels) ann[k] = v;
    if (!cfg.stopSignal.empty()) ann[kStopSignalAnnotation] = cfg.stopSignal;
    if (!ann.empty()) spec["annotations"] = ann;
    return spec;
}

}  // namespace berth::images
