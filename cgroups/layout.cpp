// Layout detection: which cgroup hierarchies are mounted where, and where this process sits.
#include <optional>
#include <set>
#include <string_view>
#include <sstream>

#include "cgroups/manager.hpp"
#include "common/fs.hpp"

namespace berth::cgroups {
namespace {
const std::set<std::string, std::less<>> kV1Controllers = {
    "cpu",  "cpuacct", "cpuset",   "memory",     "devices", "freezer", "blkio",
    "pids", "net_cls", "net_prio", "perf_event", "hugetlb", "rdma",    "misc"};
}

namespace {

// Field `n` (from 0) of `s` split at every `sep` (empty fields count), or nullopt when it has
// fewer: views into the line, no copies (a split per line was ~5 k instructions, twice a `run`).
std::optional<std::string_view> fieldAt(std::string_view s, char sep, size_t n) {
    size_t start = 0;
    for (; n > 0; n--) {
        size_t pos = s.find(sep, start);
        if (pos == std::string_view::npos) return std::nullopt;
        start = pos + 1;
    }
    return s.substr(start, s.find(sep, start) - start);
}

}  // namespace

HostLayout parseMountInfo(const std::string& mountinfo) {
    HostLayout out;
    bool haveV1 = false, haveV2 = false;
    std::string_view rest = mountinfo;
    while (!rest.empty()) {
        size_t nl = rest.find('\n');
        std::string_view line = rest.substr(0, nl);
        rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
        // id parent maj:min root mountpoint opts [optional...] - fstype source superopts
        auto sep = line.find(" - ");
        if (sep == std::string_view::npos) continue;
        std::string_view pre = line.substr(0, sep), post = line.substr(sep + 3);
        auto mountPoint = fieldAt(pre, ' ', 4);
        auto fstype = fieldAt(post, ' ', 0);
        auto superOptions = fieldAt(post, ' ', 2);
        if (!mountPoint || !superOptions) continue;
        if (*fstype != "cgroup" && *fstype != "cgroup2") continue;
        Hierarchy h;
        h.mountPoint = *mountPoint;
        h.v2 = *fstype == "cgroup2";
        if (!h.v2) {
            for (size_t i = 0; auto opt = fieldAt(*superOptions, ',', i); i++)
                if (kV1Controllers.contains(*opt) || opt->starts_with("name="))
                    h.controllers.emplace_back(*opt);
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

// Read once per process: `run` asks at create and again at delete, and on a host with many
// mounts (every running container's rootfs) each read of the table costs more than the rest of
// the lookup. A berth process lives for one command; the hierarchies do not move under it.
Result<HostLayout> detectLayout() {
    static std::optional<HostLayout> cached;
    if (cached) return *cached;
    ASSIGN_OR_RETURN(std::string text, fs::readFile("/proc/self/mountinfo"));
    HostLayout l = parseMountInfo(text);
    if (l.hierarchies.empty()) return Error::make("no cgroup hierarchy is mounted");
    cached = l;
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
