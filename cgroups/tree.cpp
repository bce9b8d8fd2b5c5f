#include "cgroups/tree.hpp"

#include <algorithm>

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <sstream>
#include <string_view>
#include <thread>
#include <vector>

#include "cgroups/stats.hpp"
#include "common/fs.hpp"

namespace berth::cgroups {
namespace {

// Sub-cgroup directories below dir, deepest first. The entry type comes from readdir (kernfs
// fills d_type): an lstat of each of a cgroup's ~20-30 interface files made the kernel build an
// inode for each only to find a regular file (with 10 hierarchies, ~10 % of a `run`'s CPU).
void subdirsDeepestFirst(const std::string& dir, std::vector<std::string>& out) {
    DIR* d = ::opendir(dir.c_str());
    if (!d) return;
    std::vector<std::string> subdirs;
    while (struct dirent* e = ::readdir(d)) {
        std::string_view name = e->d_name;
        if (name == "." || name == "..") continue;
        std::string p = dir + "/" + e->d_name;
        bool isDir = e->d_type == DT_DIR;
        if (e->d_type == DT_UNKNOWN) {
            struct stat sb;
            isDir = ::lstat(p.c_str(), &sb) == 0 && S_ISDIR(sb.st_mode);
        }
        if (isDir) subdirs.push_back(std::move(p));
    }
    ::closedir(d);
    for (auto& p : subdirs) {
        subdirsDeepestFirst(p, out);
        out.push_back(std::move(p));
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
    // The common case — no sub-cgroups, no task left — is one rmdir and no directory scan.
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return {};
    Status result;
    for (auto& d : cgroupTree(dir)) {
        Status st = removeOne(d);
        if (!st && result.ok()) result = st;
    }
    return result;
}

Status makeCgroupDir(const std::string& dir, std::vector<std::string>* made) {
    // The common case — the parent exists — is one mkdir; only a missing parent walks the path
    // (four to six mkdirs answering EEXIST per hierarchy otherwise).
    if (::mkdir(dir.c_str(), 0755) == 0 || errno == EEXIST) return {};
    if (errno != ENOENT) return Error::fromErrno("cgroup: mkdir ", dir);
    for (int attempt = 0;; attempt++) {
        std::string cur;
        bool lost = false;
        for (const auto& part : fs::split(dir, '/')) {
            if (part.empty()) continue;
            cur += "/" + part;
            if (::mkdir(cur.c_str(), 0755) == 0) {
                if (cur != dir && made && std::find(made->begin(), made->end(), cur) == made->end())
                    made->push_back(cur);
                continue;
            }
            if (errno == EEXIST) continue;
            // Another container's delete removed a parent it had made between our two mkdirs.
            if (errno == ENOENT && attempt < 3) {
                lost = true;
                break;
            }
            return Error::fromErrno("cgroup: mkdir ", cur);
        }
        if (!lost) return {};
    }
}

void removeMadeParents(const std::vector<std::string>& dirs) {
    std::vector<std::string> sorted = dirs;
    std::sort(sorted.begin(), sorted.end(), [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
    for (auto& d : sorted) (void)::rmdir(d.c_str());
}

namespace {

// dir if it exists, else its nearest existing ancestor strictly below mount ("" if none: the
// hierarchy's root cannot be frozen).
std::string nearestExisting(const std::string& mount, std::string dir) {
    while (dir.size() > mount.size() && dir.compare(0, mount.size() + 1, mount + "/") == 0) {
        if (fs::exists(dir)) return dir;
        dir = dir.substr(0, dir.rfind('/'));
    }
    return "";
}

Error frozenError(const std::string& dir, const std::string& what) {
    // runc 1.1 refuses the same case with "container's cgroup unexpectedly frozen".
    return Error(EBUSY, "container's cgroup is frozen (" + dir + ": " + what + "); thaw it first");
}

}  // namespace

Status refuseFrozenV1(const std::string& mount, const std::string& dir) {
    std::string d = nearestExisting(mount, dir);
    if (d.empty()) return {};
    std::string state;
    for (int i = 0; i < 1000; i++) {  // FREEZING settles within moments, as runc assumes
        auto text = fs::readFile(d + "/freezer.state");
        if (!text) return {};  // no freezer file: nothing there can be frozen
        state = fs::trim(*text);
        if (state != "FREEZING") break;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (state == "FROZEN" || state == "FREEZING")
        return frozenError(d, "freezer.state is " + state);
    return {};
}

Status refuseFrozenV2(const std::string& mount, const std::string& dir) {
    std::string d = nearestExisting(mount, dir);
    if (d.empty()) return {};
    auto freeze = fs::readFile(d + "/cgroup.freeze");
    if (freeze && fs::trim(*freeze) == "1") return frozenError(d, "cgroup.freeze is 1");
    auto events = fs::readFile(d + "/cgroup.events");
    if (events && parseFlatKeyed(*events)["frozen"] == 1)
        return frozenError(d, "frozen through an ancestor's cgroup.freeze");
    return {};
}

}  // namespace berth::cgroups
