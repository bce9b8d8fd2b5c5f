// The cgroupfs manager for unified hosts: one directory under the cgroup2 mount, controllers
// enabled from the root down (as runc: every available one), knobs from v2/resources.cpp,
// devices as an eBPF program, freeze through cgroup.freeze, kill through cgroup.kill.
#include "cgroups/v2/manager.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <set>
#include <sstream>
#include <thread>

#include "cgroups/resources.hpp"
#include "cgroups/tree.hpp"
#include "cgroups/v2/devices_bpf.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"

namespace berth::cgroups::v2 {
namespace {

std::set<std::string> readControllers(const std::string& dir) {
    std::set<std::string> out;
    auto t = fs::readFile(dir + "/cgroup.controllers");
    if (!t) return out;
    for (auto& c : fs::split(fs::trim(*t), ' '))
        if (!c.empty()) out.insert(c);
    return out;
}

// memory.events changes (IN_MODIFY) on every memory event; only a higher oom_kill is an OOM kill.
class EventsOomNotifier final : public OomNotifier {
public:
    EventsOomNotifier(UniqueFd fd, std::string file, uint64_t kills)
        : fd_(std::move(fd)), file_(std::move(file)), kills_(kills) {}
    int fd() const override { return fd_.get(); }
    Result<bool> consume() override {
        char buf[4096];
        while (::read(fd_.get(), buf, sizeof buf) > 0) {
        }
        auto t = fs::readFile(file_);
        if (!t) return std::move(t).error().context("cgroup: the container's cgroup is gone");
        uint64_t kills = parseFlatKeyed(*t)["oom_kill"];
        bool oom = kills > kills_;
        kills_ = kills;
        return oom;
    }

private:
    UniqueFd fd_;
    std::string file_;
    uint64_t kills_;
};

class FsManager final : public Manager {
public:
    FsManager(std::string root, std::string dir, std::vector<std::string> made)
        : root_(std::move(root)), dir_(std::move(dir)), made_(std::move(made)) {
        layout_.layout = Layout::Unified;
        layout_.hierarchies.push_back({root_, {}, true});
    }

    Status create() override {
        if (dir_.compare(0, root_.size() + 1, root_ + "/") != 0)
            return Error::make("cgroup: ", dir_, " is not below the cgroup2 mount ", root_);
        TRY(makeCgroupDir(dir_, &made_));
        return enableControllers();
    }

    Status apply(const nlohmann::json& resources) override {
        // Everything that can refuse the resources does so before anything is changed.
        ASSIGN_OR_RETURN(auto knobs, v2Knobs(resources));
        TRY(checkBeforeUpdate(resources));
        if (resources.is_object() && resources.contains("devices") && !resources["devices"].is_null()) {
            ASSIGN_OR_RETURN(auto rules, parseDeviceRules(resources["devices"]));
            ASSIGN_OR_RETURN(auto prog, deviceFilterProgram(rules));
            TRY_CTX(attachDeviceFilter(dir_, prog), "linux.resources.devices");
        }
        std::set<std::string> avail = readControllers(dir_);
        for (size_t i = 0; i < knobs.size(); i++) {
            Status st = write(knobs[i], avail);
            if (st) continue;
            // Lowering the quota below the current burst is EINVAL until the burst comes down:
            // write the (new, smaller) burst first, then the quota again.
            bool pair = st.error().err() == EINVAL && i + 1 < knobs.size() && knobs[i].file == "cpu.max" &&
                        knobs[i + 1].file == "cpu.max.burst";
            if (!pair) return st;
            TRY(write(knobs[i + 1], avail));
            TRY(write(knobs[i], avail));
            i++;
        }
        return {};
    }

    Status addProcess(pid_t pid) override {
        TRY_CTX(fs::writeFile(dir_ + "/cgroup.procs", std::to_string(pid)), "cgroup: add pid ", pid);
        return {};
    }

    Status refuseFrozen() const override { return refuseFrozenV2(root_, dir_); }

    // Every process of the container, also those in cgroups it made below its own.
    Result<std::vector<pid_t>> pids() const override {
        std::vector<pid_t> out;
        for (auto& d : cgroupTree(dir_)) {
            ASSIGN_OR_RETURN(auto procs, readProcs(d));
            out.insert(out.end(), procs.begin(), procs.end());
        }
        return out;
    }

    Status freeze(bool frozen) override {
        std::string file = dir_ + "/cgroup.freeze";
        if (!fs::exists(file)) {
            if (!frozen) return {};  // nothing can be frozen without it
            return Error(ENOTSUP, "cgroup: " + dir_ + " has no cgroup.freeze (the cgroup2 freezer needs Linux 5.2)");
        }
        TRY_CTX(fs::writeFile(file, frozen ? "1" : "0"), "cgroup: ", frozen ? "freeze" : "thaw");
        Status st = waitFrozen(frozen);
        // A freeze that did not complete must not complete later, behind the state's back.
        if (!st && frozen) (void)fs::writeFile(file, "0");
        return st;
    }

    Result<Stats> stats() const override { return readStats(dir_); }

    Result<std::unique_ptr<OomNotifier>> oomNotifier() const override {
        std::string file = dir_ + "/memory.events";
        auto t = fs::readFile(file);
        if (!t) return std::move(t).error().context("cgroup: the memory controller is not enabled for ", dir_);
        UniqueFd fd(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
        if (!fd) return Error::fromErrno("inotify_init1");
        if (::inotify_add_watch(fd.get(), file.c_str(), IN_MODIFY) < 0)
            return Error::fromErrno("cgroup: watch ", file);
        return std::unique_ptr<OomNotifier>(
            new EventsOomNotifier(std::move(fd), file, parseFlatKeyed(*t)["oom_kill"]));
    }

    Status destroy() override {
        if (!fs::exists(dir_)) {
            removeMadeParents(made_);
            return {};
        }
        killAll();
        Status st = removeCgroupTree(dir_);
        removeMadeParents(made_);
        return st;
    }

    std::map<std::string, std::string> paths() const override { return {{root_, dir_}}; }
    Saved saved() const override { return {"cgroupfs", {{root_, dir_}}, "", made_}; }
    const HostLayout& layout() const override { return layout_; }

private:
    // Enable in each ancestor, from the root to the container's parent, every controller that
    // ancestor has (runc does the same): a later `update` can then set any limit, and stats
    // are complete. A cgroup that holds processes itself (other than the root) cannot enable
    // domain controllers (EBUSY), a threaded one refuses them (EOPNOTSUPP): runc goes on
    // without them, and so do we — a limit that needs one then fails in apply, naming it.
    Status enableControllers() {
        std::string cur = root_;
        auto parts = fs::split(dir_.substr(root_.size()), '/');
        parts.erase(std::remove(parts.begin(), parts.end(), std::string()), parts.end());
        for (size_t i = 0; i < parts.size(); i++) {  // the parent of parts[i] is cur
            TRY(enableIn(cur));
            cur += "/" + parts[i];
        }
        return {};
    }

    static Status enableIn(const std::string& dir) {
        std::set<std::string> avail = readControllers(dir);
        std::set<std::string> enabled;
        if (auto t = fs::readFile(dir + "/cgroup.subtree_control"))
            for (auto& c : fs::split(fs::trim(*t), ' '))
                if (!c.empty()) enabled.insert(c);
        std::vector<std::string> want;
        for (auto& c : avail)
            if (!enabled.count(c)) want.push_back("+" + c);
        if (want.empty()) return {};
        std::string all;
        for (auto& w : want) all += (all.empty() ? "" : " ") + w;
        if (fs::writeFile(dir + "/cgroup.subtree_control", all)) return {};
        for (auto& w : want) {  // one by one: keep what can be enabled
            Status st = fs::writeFile(dir + "/cgroup.subtree_control", w);
            if (st) continue;
            int e = st.error().err();
            if (e != EBUSY && e != ENOTSUP && e != EOPNOTSUPP)
                return std::move(st).error().context("cgroup: enable ", w.substr(1), " in ", dir);
            log::debug("cgroup: cannot enable ", w.substr(1), " in ", dir, ": ", st.error().what());
        }
        return {};
    }

    Status write(const KnobWrite& k, const std::set<std::string>& avail) {
        if (!k.controller.empty() && !avail.count(k.controller)) {
            if (k.optional) return {};
            std::string have;
            for (auto& c : avail) have += (have.empty() ? "" : " ") + c;
            return Error::make(k.jsonPath, ": the ", k.controller, " controller is not available in ", dir_,
                               " (its cgroup.controllers: ", have.empty() ? "none" : have, ")", whyNotDelegated());
        }
        std::string file = k.file, value = k.value;
        // Written first, looked at only when the open failed with ENOENT (no stat per knob).
        Status written = fs::writeFile(dir_ + "/" + file, value);
        if (written.ok()) return {};
        if (written.error().err() != ENOENT || fs::exists(dir_ + "/" + file))
            return std::move(written.error().context(k.jsonPath, ": cgroup: set ", file, " to \"", value, "\""));
        if (!k.fallback.empty() && fs::exists(dir_ + "/" + k.fallback)) {
            file = k.fallback;
            if (!k.fallbackValue.empty()) value = k.fallbackValue;
        } else if (k.optional) {
            log::debug("cgroup: ", file, " does not exist; ", k.jsonPath, " not applied");
            return {};
        } else {
            return Error(ENOENT, strCat("invalid configuration: ", k.jsonPath, ": this kernel has no ", file, " in ", dir_));
        }
        TRY_CTX(fs::writeFile(dir_ + "/" + file, value), k.jsonPath, ": cgroup: set ", file, " to \"", value, "\"");
        return {};
    }

    // The usual reason on a real host: the parent holds processes itself (a login session's
    // scope, say), and cgroup2 enables no domain controller below such a cgroup.
    std::string whyNotDelegated() const {
        std::string parent = dir_.substr(0, dir_.rfind('/'));
        if (parent == root_) return "";
        auto procs = fs::readFile(parent + "/cgroup.procs");
        if (!procs || fs::trim(*procs).empty()) return "";
        return "; its parent " + parent + " holds processes, so cgroup v2 cannot enable controllers below it: "
               "choose a linux.cgroupsPath elsewhere";
    }

    // memory.checkBeforeUpdate: refuse a limit below what the cgroup already uses (runc's
    // CheckMemoryUsage), rather than have the kernel reclaim or OOM-kill to meet it.
    Status checkBeforeUpdate(const nlohmann::json& r) {
        if (!r.is_object() || !r.contains("memory") || !r["memory"].is_object()) return {};
        const auto& m = r["memory"];
        if (!m.value("checkBeforeUpdate", false) || !m.contains("limit") || !m["limit"].is_number_integer())
            return {};
        int64_t limit = m["limit"].get<int64_t>();
        auto usage = fs::readFile(dir_ + "/memory.current");
        if (limit <= 0 || !usage) return {};
        if (parseKnobValue(*usage) > uint64_t(limit))
            return Error::make("linux.resources.memory.limit: ", limit, " is below the current usage ",
                               fs::trim(*usage), " (checkBeforeUpdate)");
        return {};
    }

    // cgroup.freeze only asks; cgroup.events says "frozen 1" once every task has stopped.
    // kernfs wakes poll(POLLPRI) on every change; a fake tree's plain file just times out.
    Status waitFrozen(bool frozen) {
        UniqueFd fd(::open((dir_ + "/cgroup.events").c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd) return {};
        for (int i = 0; i < 1000; i++) {
            char buf[512];
            ssize_t n = ::pread(fd.get(), buf, sizeof buf - 1, 0);
            if (n < 0) return Error::fromErrno("cgroup: read ", dir_, "/cgroup.events");
            auto kv = parseFlatKeyed(std::string(buf, size_t(n)));
            auto it = kv.find("frozen");
            if (it == kv.end() || it->second == (frozen ? 1u : 0u)) return {};
            pollfd p{fd.get(), POLLPRI, 0};
            ::poll(&p, 1, 10);
        }
        return Error(ETIMEDOUT, strCat("cgroup: ", dir_, " did not become ", frozen ? "frozen" : "thawed"));
    }

    // cgroup.kill (5.14+) SIGKILLs the whole subtree at once, forks included; before it, freeze
    // so nothing can fork while we collect and kill, as on v1.
    void killAll() {
        if (auto list = pids(); list && list->empty()) return;
        if (fs::exists(dir_ + "/cgroup.kill") && fs::writeFile(dir_ + "/cgroup.kill", "1")) {
            waitEmpty();
            return;
        }
        killUntilEmpty(*this, true);
    }

    void waitEmpty() {
        for (int i = 0; i < 400; i++) {
            auto list = pids();
            if (!list || list->empty()) return;
            std::this_thread::sleep_for(std::chrono::milliseconds(i < 10 ? 1 : 5));
        }
    }

    std::string root_, dir_;
    std::vector<std::string> made_;  // ancestors create made: removed (when empty) at destroy
    HostLayout layout_;
};

}  // namespace

Status addProcessBeside(const Manager& m, pid_t existing, pid_t pid) {
    auto paths = m.paths();
    if (paths.size() != 1) return Error::make("cgroup: not a cgroup2 manager");
    const auto& [root, dir] = *paths.begin();
    std::string procFile = "/proc/" + std::to_string(existing) + "/cgroup";
    ASSIGN_OR_RETURN(std::string text, fs::readFile(procFile));
    auto own = parseProcCgroup(text);
    if (!own.count("")) return Error::make("cgroup: ", procFile, " has no cgroup2 entry");
    std::string target = fs::cleanPath(root + "/" + own[""]);
    if (target != dir && target.compare(0, dir.size() + 1, dir + "/") != 0)
        return Error::make("cgroup: process ", existing, " is in ", target, ", outside the container's ", dir);
    log::debug("cgroup: ", dir, " holds no processes (its controllers are delegated); joining ", target);
    TRY_CTX(fs::writeFile(target + "/cgroup.procs", std::to_string(pid)), "cgroup: add pid ", pid);
    return {};
}

Result<std::unique_ptr<Manager>> newManager(const std::string& root, const std::string& dir,
                                            std::vector<std::string> madeParents) {
    if (root.empty() || dir.empty()) return Error::make("cgroup: no cgroup2 directory for the container");
    return std::unique_ptr<Manager>(new FsManager(fs::cleanPath(root), fs::cleanPath(dir), std::move(madeParents)));
}

}  // namespace berth::cgroups::v2
