#include "cgroups/tree.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <sstream>
#include <thread>
#include <vector>

#include "common/fs.hpp"

namespace berth::cgroups {
namespace {

// Sub-cgroup directories below dir, deepest first.
void subdirsDeepestFirst(const std::string& dir, std::vector<std::string>& out) {
    auto names = fs::listDir(dir);
    if (!names) return;
    for (auto& n : *names) {
        std::string p = dir + "/" + n;
        struct stat sb;
        if (::lstat(p.c_str(), &sb) != 0 || !S_ISDIR(sb.st_mode)) continue;
        subdirsDeepestFirst(p, out);
        out.push_back(p);
    }
}

Status removeOne(const std::string& dir) {
    for (int i = 0; i < 200; i++) {
        if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return {};
        if (errno != EBUSY) return Error::fromErrno("cgroup: rmdir ", dir);
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return Error::fromErrno("cgroup: rmdir ", dir);
}

}  // namespace

Result<std::vector<pid_t>> readProcs(const std::string& dir) {
    std::vector<pid_t> out;
    auto text = fs::readFile(dir + "/cgroup.procs");
    if (!text) {
        if (text.error().err() == ENOENT) return out;
        return std::move(text).error();
    }
    std::istringstream in(*text);
    pid_t p;
    while (in >> p) out.push_back(p);
    return out;
}

void killUntilEmpty(Manager& m, bool canFreeze) {
    // The common case at delete: the container already exited and its cgroup is empty.
    if (auto list = m.pids(); list && list->empty()) return;
    bool froze = canFreeze && m.freeze(true).ok();
    for (int round = 0; round < 200; round++) {
        auto list = m.pids();
        if (!list || list->empty()) break;
        for (pid_t p : *list) ::kill(p, SIGKILL);
        if (froze) {
            (void)m.freeze(false);
            froze = false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(round < 10 ? 1 : 5));
    }
    if (froze) (void)m.freeze(false);
}

std::vector<std::string> cgroupTree(const std::string& dir) {
    std::vector<std::string> dirs;
    subdirsDeepestFirst(dir, dirs);
    dirs.push_back(dir);
    return dirs;
}

Status removeCgroupTree(const std::string& dir) {
    Status result;
    for (auto& d : cgroupTree(dir)) {
        Status st = removeOne(d);
        if (!st && result.ok()) result = st;
    }
    return result;
}

}  // namespace berth::cgroups
