#include "cgroups/placement.hpp"

#include "common/fs.hpp"

namespace berth::cgroups {

std::string expandSlice(const std::string& slice) {
    if (slice.empty() || slice == "-.slice") return "";
    std::string base = slice.substr(0, slice.size() - (slice.size() > 6 ? 6 : 0));
    std::string out, prefix;
    for (auto& part : fs::split(base, '-')) {
        prefix = prefix.empty() ? part : prefix + "-" + part;
        out += "/" + prefix + ".slice";
    }
    return out;
}

Result<SystemdUnit> systemdUnitFor(const std::string& p, const std::string& id) {
    if (p.empty()) return SystemdUnit{"system.slice", "berth-" + id + ".scope"};
    auto parts = fs::split(p, ':');
    if (parts.size() != 3)
        return Error::make("linux.cgroupsPath: expected \"slice:prefix:name\" with --systemd-cgroup, got \"",
                           p, "\"");
    for (auto& part : parts)
        if (part.find('/') != std::string::npos)
            return Error::make("linux.cgroupsPath: \"", p, "\": a systemd unit name cannot hold \"/\"");
    SystemdUnit u;
    u.slice = parts[0].empty() ? "system.slice" : parts[0];
    if (u.slice.size() <= 6 || u.slice.substr(u.slice.size() - 6) != ".slice")
        return Error::make("linux.cgroupsPath: \"", p, "\": \"", u.slice, "\" is not a slice");
    bool isSlice = parts[2].size() > 6 && parts[2].substr(parts[2].size() - 6) == ".slice";
    u.unit = isSlice ? parts[2] : (parts[1].empty() ? parts[2] : parts[1] + "-" + parts[2]) + ".scope";
    return u;
}

Result<Placement> placementFor(const Config& cfg) {
    std::string path = cfg.cgroupsPath;
    if (cfg.systemd) {
        ASSIGN_OR_RETURN(SystemdUnit u, systemdUnitFor(cfg.cgroupsPath, cfg.id));
        path = expandSlice(u.slice) + "/" + u.unit;
    } else if (path.empty()) {
        path = cfg.id;  // relative: nested under the caller's own cgroup, as runc
    }
    Placement p;
    p.relative = path[0] != '/';
    // Clean the path on its own first, so ".." can never climb out of a hierarchy (as runc).
    p.path = fs::cleanPath("/" + path);
    if (p.path == "/")
        return Error::make("linux.cgroupsPath: \"", cfg.cgroupsPath, "\" names the root cgroup");
    return p;
}

Result<std::string> directoryIn(const Hierarchy& h, const std::map<std::string, std::string>& own,
                                const Placement& p, const std::string& cgroupsPath) {
    std::string base = h.mountPoint;
    if (p.relative) {
        auto it = own.find(h.v2 ? "" : h.controllers.front());
        if (it != own.end()) base = fs::joinPath(base, fs::cleanPath("/" + it->second));
    }
    std::string dir = fs::joinPath(base, p.path);
    if (dir.compare(0, h.mountPoint.size() + 1, h.mountPoint + "/") != 0)
        return Error::make("linux.cgroupsPath: \"", cgroupsPath, "\" leaves ", h.mountPoint);
    return dir;
}

}  // namespace berth::cgroups
