#include "cgroups/sub_cgroup.hpp"

#include <sys/stat.h>

#include <algorithm>

namespace berth::cgroups {
namespace {

Result<std::string> checkedPath(const std::string& arg, std::string path) {
    while (!path.empty() && path.front() == '/') path.erase(path.begin());
    while (!path.empty() && path.back() == '/') path.pop_back();
    if (path.empty()) return Error(EINVAL, strCat("invalid --cgroup argument \"", arg, "\": empty path"));
    size_t start = 0;
    while (start <= path.size()) {
        size_t end = path.find('/', start);
        if (end == std::string::npos) end = path.size();
        if (path.compare(start, end - start, "..") == 0)
            return Error(EINVAL, strCat("invalid --cgroup argument \"", arg,
                                        "\": the path must stay inside the container's cgroup"));
        start = end + 1;
    }
    return path;
}

// The controllers a hierarchy's mount point holds ("unified" for a cgroup2 mount).
std::vector<std::string> controllersAt(const std::string& mountPoint, const HostLayout& layout) {
    for (auto& h : layout.hierarchies)
        if (h.mountPoint == mountPoint) {
            if (h.v2) return {"unified"};
            return h.controllers;
        }
    return {mountPoint.substr(mountPoint.rfind('/') + 1)};
}

}  // namespace

Result<std::map<std::string, std::string>> parseSubCgroupArgs(const std::vector<std::string>& args) {
    std::map<std::string, std::string> out;
    for (auto& arg : args) {
        auto colon = arg.find(':');
        if (colon == std::string::npos) {
            if (args.size() != 1)
                return Error(EINVAL, strCat("invalid --cgroup argument \"", arg, "\" (missing <controller>: prefix)"));
            ASSIGN_OR_RETURN(out[""], checkedPath(arg, arg));
            continue;
        }
        if (arg.find(':', colon + 1) != std::string::npos)
            return Error(EINVAL, strCat("invalid --cgroup argument \"", arg, "\""));
        ASSIGN_OR_RETURN(std::string path, checkedPath(arg, arg.substr(colon + 1)));
        std::string ctrls = arg.substr(0, colon);
        size_t start = 0;
        while (start <= ctrls.size()) {
            size_t end = std::min(ctrls.find(',', start), ctrls.size());
            std::string c = ctrls.substr(start, end - start);
            if (c.empty()) return Error(EINVAL, strCat("invalid --cgroup argument \"", arg, "\": empty controller"));
            out[c] = path;
            start = end + 1;
        }
    }
    return out;
}

Result<Saved> withSubCgroups(const Saved& container, const std::map<std::string, std::string>& sub,
                             const HostLayout& layout) {
    Saved out = container;
    out.driver = "cgroupfs";
    out.unit.clear();
    std::map<std::string, bool> used;
    for (auto& [mountPoint, dir] : out.paths) {
        std::string rel;
        if (auto all = sub.find(""); all != sub.end()) rel = all->second;
        for (auto& c : controllersAt(mountPoint, layout))
            if (auto it = sub.find(c); it != sub.end()) {
                rel = it->second;
                used[c] = true;
            }
        if (rel.empty()) continue;
        dir += "/" + rel;
        struct stat sb {};
        if (::stat(dir.c_str(), &sb) < 0 || !S_ISDIR(sb.st_mode))
            return Error(ENOENT, strCat("exec --cgroup: sub-cgroup ", dir, " does not exist"));
    }
    for (auto& [c, path] : sub)
        if (!c.empty() && !used.count(c))
            return Error(EINVAL, strCat("exec --cgroup ", c, ":", path, ": the container has no ", c, " cgroup"));
    return out;
}

}  // namespace berth::cgroups
