// Layout detection: which cgroup hierarchies are mounted where, and where this process sits.
#include <set>
#include <sstream>

#include "cgroups/manager.hpp"
#include "common/fs.hpp"

namespace berth::cgroups {
namespace {
const std::set<std::string> kV1Controllers = {
    "cpu",  "cpuacct", "cpuset",   "memory",     "devices", "freezer", "blkio",
    "pids", "net_cls", "net_prio", "perf_event", "hugetlb", "rdma",    "misc"};
}

HostLayout parseMountInfo(const std::string& mountinfo) {
    HostLayout out;
    bool haveV1 = false, haveV2 = false;
    std::istringstream in(mountinfo);
    std::string line;
    while (std::getline(in, line)) {
        // id parent maj:min root mountpoint opts [optional...] - fstype source superopts
        auto sep = line.find(" - ");
        if (sep == std::string::npos) continue;
        auto pre = fs::split(line.substr(0, sep), ' ');
        auto post = fs::split(line.substr(sep + 3), ' ');
        if (pre.size() < 5 || post.size() < 3) continue;
        const std::string& fstype = post[0];
        if (fstype != "cgroup" && fstype != "cgroup2") continue;
        Hierarchy h;
        h.mountPoint = pre[4];
        h.v2 = fstype == "cgroup2";
        if (!h.v2) {
            for (auto& opt : fs::split(post[2], ','))
                if (kV1Controllers.count(opt) || opt.rfind("name=", 0) == 0)
                    h.controllers.push_back(opt);
            if (h.controllers.empty()) continue;
            haveV1 = true;
        } else {
            haveV2 = true;
        }
        out.hierarchies.push_back(std::move(h));
    }
    out.layout = haveV1 ? (haveV2 ? Layout::Hybrid : Layout::V1) : Layout::Unified;
    return out;
}

Result<HostLayout> detectLayout() {
    ASSIGN_OR_RETURN(std::string text, fs::readFile("/proc/self/mountinfo"));
    HostLayout l = parseMountInfo(text);
    if (l.hierarchies.empty()) return Error::make("no cgroup hierarchy is mounted");
    return l;
}

std::map<std::string, std::string> parseProcCgroup(const std::string& text) {
    std::map<std::string, std::string> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        auto a = line.find(':');
        if (a == std::string::npos) continue;
        auto b = line.find(':', a + 1);
        if (b == std::string::npos) continue;
        std::string ctrls = line.substr(a + 1, b - a - 1);
        std::string path = line.substr(b + 1);
        if (ctrls.empty()) {
            out[""] = path;
            continue;
        }
        for (auto& c : fs::split(ctrls, ',')) out[c] = path;
    }
    return out;
}

}  // namespace berth::cgroups
