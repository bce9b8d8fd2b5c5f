// The cgroupfs manager for v1 and hybrid hosts: one directory per mounted hierarchy. On a hybrid
// host the container also gets a directory in the cgroup2 mount (as runc does), so tools that
// read the unified view find it.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <sstream>
#include <thread>

#include "cgroups/manager.hpp"
#include "cgroups/resources.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"

namespace berth::cgroups {
namespace {

// "machine-foo.slice" -> "machine.slice/machine-foo.slice" (systemd's slice nesting).
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

// --systemd-cgroup's "slice:prefix:name" form, placed on cgroupfs where the unit would live.
Result<std::string> systemdToPath(const std::string& p, const std::string& id) {
    if (p.empty()) return std::string("/system.slice/berth-" + id + ".scope");
    auto parts = fs::split(p, ':');
    if (parts.size() != 3)
        return Error::make("linux.cgroupsPath: expected \"slice:prefix:name\" with --systemd-cgroup, got \"",
                           p, "\"");
    std::string slice = parts[0].empty() ? "system.slice" : parts[0];
    std::string unit = parts[2].size() > 6 && parts[2].substr(parts[2].size() - 6) == ".slice"
                           ? parts[2]
                           : parts[1] + "-" + parts[2] + ".scope";
    return expandSlice(slice) + "/" + unit;
}

std::string hierarchyKey(const Hierarchy& h) { return h.v2 ? "" : h.controllers.front(); }

class FsManager final : public Manager {
public:
    FsManager(HostLayout layout, std::map<std::string, std::string> paths)
        : layout_(std::move(layout)), paths_(std::move(paths)) {}

    Status create() override {
        for (auto& [mount, dir] : paths_) {
            TRY_CTX(fs::mkdirAll(dir, 0755), "cgroup");
            if (isCpuset(mount)) TRY(initCpuset(mount, dir));
        }
        return {};
    }

    Status apply(const nlohmann::json& resources) override {
        ASSIGN_OR_RETURN(auto knobs, v1Knobs(resources));
        for (auto& k : knobs) {
            std::string dir = dirFor(k.controller);
            if (dir.empty()) {
                if (k.optional) continue;
                return Error::make("cgroup: controller ", k.controller, " is not mounted (needed for ",
                                   k.file, ")");
            }
            std::string file = dir + "/" + k.file;
            if (k.optional && !fs::exists(file)) continue;
            TRY_CTX(fs::writeFile(file, k.value), "cgroup: set ", k.file, " to ", k.value);
        }
        return {};
    }

    Status addProcess(pid_t pid) override {
        for (auto& [mount, dir] : paths_)
            TRY_CTX(fs::writeFile(dir + "/cgroup.procs", std::to_string(pid)), "cgroup: add pid ",
                    pid);
        return {};
    }

    Result<std::vector<pid_t>> pids() const override {
        std::string dir = dirFor("pids");
        if (dir.empty()) dir = dirFor("memory");
        if (dir.empty() && !paths_.empty()) dir = paths_.begin()->second;
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

    Status freeze(bool frozen) override {
        std::string dir = dirFor("freezer");
        if (dir.empty()) return Error::make("cgroup: the freezer controller is not mounted");
        const char* want = frozen ? "FROZEN" : "THAWED";
        for (int i = 0; i < 1000; i++) {
            TRY_CTX(fs::writeFile(dir + "/freezer.state", want), "cgroup: freeze");
            auto st = fs::readFile(dir + "/freezer.state");
            if (st && fs::trim(*st) == want) return {};
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        return Error::make("cgroup: freezer did not reach ", want);
    }

    Status destroy() override {
        killAll();
        Status result;
        for (auto& [mount, dir] : paths_) {
            Status st = removeDir(dir);
            if (!st && result.ok()) result = st;
        }
        return result;
    }

    std::map<std::string, std::string> paths() const override { return paths_; }
    const HostLayout& layout() const override { return layout_; }

private:
    std::string dirFor(const std::string& controller) const {
        for (auto& h : layout_.hierarchies) {
            if (h.v2) continue;
            if (std::find(h.controllers.begin(), h.controllers.end(), controller) ==
                h.controllers.end())
                continue;
            auto it = paths_.find(h.mountPoint);
            if (it != paths_.end()) return it->second;
        }
        return "";
    }

    bool isCpuset(const std::string& mount) const {
        for (auto& h : layout_.hierarchies)
            if (h.mountPoint == mount && !h.v2 &&
                std::find(h.controllers.begin(), h.controllers.end(), "cpuset") != h.controllers.end())
                return true;
        return false;
    }

    // A new v1 cpuset starts with empty cpus/mems and refuses tasks; inherit from the parent at
    // every level from the hierarchy root down.
    Status initCpuset(const std::string& mount, const std::string& dir) {
        if (dir.compare(0, mount.size(), mount) != 0) return Error::make("cgroup: ", dir, " is not under ", mount);
        std::string cur = mount;
        std::string rel = dir.substr(mount.size());
        for (auto& part : fs::split(rel, '/')) {
            if (part.empty()) continue;
            std::string parent = cur;
            cur += "/" + part;
            for (const char* f : {"cpuset.cpus", "cpuset.mems"}) {
                auto mine = fs::readFile(cur + "/" + f);
                if (mine && !fs::trim(*mine).empty()) continue;
                ASSIGN_OR_RETURN(std::string val, fs::readFile(parent + "/" + f));
                TRY_CTX(fs::writeFile(cur + "/" + f, fs::trim(val)), "cgroup: init ", cur, "/", f);
            }
        }
        return {};
    }

    void killAll() {
        // The common case at delete: the container already exited and its cgroup is empty.
        if (auto list = pids(); list && list->empty()) return;
        // Frozen, nothing can fork while we collect and kill.
        bool froze = !dirFor("freezer").empty() && freeze(true).ok();
        for (int round = 0; round < 200; round++) {
            auto list = pids();
            if (!list || list->empty()) break;
            for (pid_t p : *list) ::kill(p, SIGKILL);
            if (froze) {
                (void)freeze(false);
                froze = false;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(round < 10 ? 1 : 5));
        }
        if (froze) (void)freeze(false);
    }

    static Status removeDir(const std::string& dir) {
        for (int i = 0; i < 100; i++) {
            if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return {};
            if (errno != EBUSY) return Error::fromErrno("cgroup: rmdir ", dir);
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return Error::fromErrno("cgroup: rmdir ", dir);
    }

    HostLayout layout_;
    std::map<std::string, std::string> paths_;
};

// A fake or alternative root (unit tests): each subdirectory is a hierarchy named by its
// controllers ("cpu,cpuacct"); "unified" is the v2 one.
HostLayout layoutFromRoot(const std::string& root) {
    HostLayout l;
    for (const char* name : {"cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio",
                             "pids", "unified"}) {
        std::string p = root + "/" + name;
        if (!fs::exists(p)) continue;
        Hierarchy h;
        h.mountPoint = p;
        h.v2 = std::string(name) == "unified";
        if (!h.v2) h.controllers = {name};
        l.hierarchies.push_back(h);
    }
    bool v1 = std::any_of(l.hierarchies.begin(), l.hierarchies.end(), [](auto& h) { return !h.v2; });
    l.layout = v1 ? Layout::Hybrid : Layout::Unified;
    return l;
}

}  // namespace

Result<std::unique_ptr<Manager>> newManager(const Config& cfg) {
    HostLayout layout;
    std::map<std::string, std::string> own;
    if (cfg.rootDir.empty()) {
        ASSIGN_OR_RETURN(layout, detectLayout());
        ASSIGN_OR_RETURN(std::string self, fs::readFile("/proc/self/cgroup"));
        own = parseProcCgroup(self);
    } else {
        layout = layoutFromRoot(cfg.rootDir);
    }
    std::string path = cfg.cgroupsPath;
    if (cfg.systemd) {
        ASSIGN_OR_RETURN(path, systemdToPath(cfg.cgroupsPath, cfg.id));
    } else if (path.empty()) {
        path = cfg.id;  // relative: nested under the caller's own cgroup, as runc
    }
    // Clean the path on its own first, so ".." can never climb out of a hierarchy (as runc).
    bool relative = path[0] != '/';
    path = fs::cleanPath("/" + path);
    if (path == "/")
        return Error::make("linux.cgroupsPath: \"", cfg.cgroupsPath, "\" names the root cgroup");
    std::map<std::string, std::string> paths;
    for (auto& h : layout.hierarchies) {
        if (h.v2 && layout.layout == Layout::Unified)
            return Error::make("cgroup: a unified (v2-only) host needs the cgroup v2 manager, "
                               "which is not implemented yet");
        std::string base = h.mountPoint;
        if (relative) {
            auto it = own.find(hierarchyKey(h));
            if (it != own.end()) base = fs::joinPath(base, fs::cleanPath("/" + it->second));
        }
        std::string dir = fs::joinPath(base, path);
        if (dir.compare(0, h.mountPoint.size() + 1, h.mountPoint + "/") != 0)
            return Error::make("linux.cgroupsPath: \"", cfg.cgroupsPath, "\" leaves ", h.mountPoint);
        paths[h.mountPoint] = dir;
    }
    return std::unique_ptr<Manager>(new FsManager(std::move(layout), std::move(paths)));
}

Result<std::unique_ptr<Manager>> loadManager(const std::map<std::string, std::string>& paths) {
    ASSIGN_OR_RETURN(HostLayout layout, detectLayout());
    return std::unique_ptr<Manager>(new FsManager(std::move(layout), paths));
}

}  // namespace berth::cgroups
