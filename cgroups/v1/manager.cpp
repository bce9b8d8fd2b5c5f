// The cgroupfs manager for v1 and hybrid hosts. On a hybrid host the container also gets a
// directory in the cgroup2 mount (as runc does), so tools that read the unified view find it,
// and controllers that only live there (hugetlb on these machines) are driven through it.
#include "cgroups/v1/manager.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <sstream>
#include <thread>

#include "cgroups/resources.hpp"
#include "cgroups/tree.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"

namespace berth::cgroups::v1 {
namespace {

// memory.oom_control's eventfd (cgroup.event_control): signalled on every OOM of the cgroup,
// and once more when the cgroup is removed.
class EventfdOomNotifier final : public OomNotifier {
public:
    EventfdOomNotifier(UniqueFd efd, std::string dir) : efd_(std::move(efd)), dir_(std::move(dir)) {}
    int fd() const override { return efd_.get(); }
    Result<bool> consume() override {
        uint64_t n = 0;
        if (::read(efd_.get(), &n, sizeof n) != sizeof n) {
            if (errno == EAGAIN) return false;
            return Error::fromErrno("cgroup: read OOM eventfd");
        }
        // The removal of the cgroup signals too: only a live cgroup had an OOM.
        if (::access((dir_ + "/memory.oom_control").c_str(), F_OK) != 0)
            return Error::make("cgroup: ", dir_, " is gone");
        return true;
    }

private:
    UniqueFd efd_;
    std::string dir_;
};

bool has(const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}

class FsManager final : public Manager {
public:
    FsManager(HostLayout layout, std::map<std::string, std::string> paths, std::vector<std::string> made)
        : layout_(std::move(layout)), paths_(std::move(paths)), made_(std::move(made)) {}

    Status create() override {
        for (auto& [mount, dir] : paths_) {
            TRY(makeCgroupDir(dir, &made_));
            if (isCpuset(mount)) TRY(initCpuset(mount, dir));
        }
        return {};
    }

    Status apply(const nlohmann::json& resources) override {
        ASSIGN_OR_RETURN(auto knobs, v1Knobs(resources));
        TRY(checkBeforeUpdate(resources));
        OpenKnob open;
        for (size_t i = 0; i < knobs.size(); i++) {
            if (knobs[i].file == "cpu.cfs_period_us" && i + 1 < knobs.size() &&
                knobs[i + 1].file == "cpu.cfs_quota_us") {
                TRY(writeCpuBandwidth(knobs[i], knobs[i + 1]));
                i++;
                continue;
            }
            Status st = write(knobs[i], &open);
            if (st) continue;
            // Lowering memsw below the current limit, or raising the limit above the current
            // memsw, is EINVAL: the other knob must move first (runc does the same dance).
            bool pair = st.error().err() == EINVAL && i + 1 < knobs.size() &&
                        knobs[i].file == "memory.limit_in_bytes" &&
                        knobs[i + 1].file == "memory.memsw.limit_in_bytes";
            if (!pair) return st;
            TRY(write(knobs[i + 1]));
            TRY(write(knobs[i]));
            i++;
        }
        return {};
    }

    Status addProcess(pid_t pid) override {
        for (auto& [mount, dir] : paths_)
            TRY_CTX(fs::writeFile(dir + "/cgroup.procs", std::to_string(pid)), "cgroup: add pid ", pid);
        return {};
    }

    Status refuseFrozen() const override {
        for (auto& h : layout_.hierarchies) {
            auto it = paths_.find(h.mountPoint);
            if (it == paths_.end()) continue;
            // On a hybrid host the cgroup2 directory has a freezer of its own.
            if (h.v2)
                TRY(refuseFrozenV2(h.mountPoint, it->second));
            else if (has(h.controllers, "freezer"))
                TRY(refuseFrozenV1(h.mountPoint, it->second));
        }
        return {};
    }

    Result<std::vector<pid_t>> pids() const override {
        std::string dir = dirFor("pids");
        if (dir.empty()) dir = dirFor("memory");
        if (dir.empty() && !paths_.empty()) dir = paths_.begin()->second;
        return readProcs(dir);
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

    Result<Stats> stats() const override {
        return readStats([this](const std::string& c) { return dirFor(c); }, unifiedDir());
    }

    Result<std::unique_ptr<OomNotifier>> oomNotifier() const override {
        std::string dir = dirFor("memory");
        if (dir.empty()) return Error::make("cgroup: the memory controller is not mounted");
        ASSIGN_OR_RETURN(UniqueFd efd, registerV1OomEventfd(dir));
        return std::unique_ptr<OomNotifier>(new EventfdOomNotifier(std::move(efd), dir));
    }

    Status destroy() override {
        killUntilEmpty(*this, !dirFor("freezer").empty());
        Status result;
        for (auto& [mount, dir] : paths_) {
            Status st = removeCgroupTree(dir);
            if (!st && result.ok()) result = st;
        }
        removeMadeParents(made_);
        return result;
    }

    std::map<std::string, std::string> paths() const override { return paths_; }
    Saved saved() const override { return {"cgroupfs", paths_, "", made_}; }
    const HostLayout& layout() const override { return layout_; }

private:
    std::string dirFor(const std::string& controller) const {
        for (auto& h : layout_.hierarchies) {
            if (h.v2 || !has(h.controllers, controller)) continue;
            auto it = paths_.find(h.mountPoint);
            if (it != paths_.end()) return it->second;
        }
        return "";
    }

    std::string unifiedDir() const {
        for (auto& h : layout_.hierarchies) {
            if (!h.v2) continue;
            auto it = paths_.find(h.mountPoint);
            if (it != paths_.end()) return it->second;
        }
        return "";
    }

    // A controller that a hybrid host keeps on its cgroup2 mount (hugetlb here): the unified
    // directory, with the controller enabled for it from the mount point down.
    Result<std::string> unifiedDirFor(const std::string& controller) {
        std::string dir = unifiedDir();
        if (dir.empty()) return std::string();
        std::string mount;
        for (auto& h : layout_.hierarchies)
            if (h.v2) mount = h.mountPoint;
        auto avail = fs::readFile(mount + "/cgroup.controllers");
        if (!avail || !has(fs::split(fs::trim(*avail), ' '), controller)) return std::string();
        std::string cur = mount;
        for (auto& part : fs::split(dir.substr(mount.size()), '/')) {
            if (part.empty()) continue;
            TRY_CTX(fs::writeFile(cur + "/cgroup.subtree_control", "+" + controller),
                    "cgroup: enable ", controller, " in ", cur);
            cur += "/" + part;
        }
        return dir;
    }

    // The file the last knob went to, kept open while the next goes to the same one: the
    // device rules are a dozen writes to devices.allow, each a path walk through kernfs when
    // opened anew. (A cgroup v1 knob takes each write(2) as one value, whatever the offset.)
    struct OpenKnob {
        std::string path;
        UniqueFd fd;
    };

    Status write(const KnobWrite& k, OpenKnob* open = nullptr) {
        std::string dir = dirFor(k.controller);
        std::string file = k.file;
        if (dir.empty() && k.controller == "hugetlb") {
            ASSIGN_OR_RETURN(dir, unifiedDirFor("hugetlb"));
            // cgroup2 names it hugetlb.2MB.max
            if (!dir.empty()) file = file.substr(0, file.rfind(".limit_in_bytes")) + ".max";
        }
        if (dir.empty()) {
            if (k.optional) return {};
            return Error::make("invalid configuration: ", k.jsonPath, ": the ", k.controller,
                               " cgroup controller is not available on this host");
        }
        std::string path = dir + "/" + file;
        auto failed = [&](Error e) { return std::move(e.context(k.jsonPath, ": cgroup: set ", file, " to ", k.value)); };
        if (open && open->fd && open->path == path) {
            Status written = fs::writeAll(open->fd.get(), k.value, path);
            if (!written.ok()) return failed(std::move(written).error());
            return {};
        }
        // Written first, looked at only when the open failed with ENOENT: a stat before every
        // write was one more path walk per knob (and per device rule).
        UniqueFd fd(::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
        if (fd) {
            Status written = fs::writeAll(fd.get(), k.value, path);
            if (!written.ok()) return failed(std::move(written).error());
            if (open) *open = OpenKnob{path, std::move(fd)};
            return {};
        }
        Error openError = Error::fromErrno("open ", path);
        if (openError.err() != ENOENT || fs::exists(path)) return failed(std::move(openError));
        if (!k.fallback.empty() && fs::exists(dir + "/" + k.fallback)) {
            path = dir + "/" + k.fallback;
        } else if (k.optional) {
            log::debug("cgroup: ", file, " does not exist; ", k.jsonPath, " not applied");
            return {};
        } else {
            return Error::make("invalid configuration: ", k.jsonPath, ": this kernel has no ", file, " (", k.controller,
                               " cgroup)");
        }
        TRY_CTX(fs::writeFile(path, k.value), k.jsonPath, ": cgroup: set ", file, " to ", k.value);
        return {};
    }

    // Period and quota in the order that keeps every intermediate state valid (cpuQuotaFirst);
    // should the kernel still refuse the first write (EINVAL), the other order, as runc does.
    Status writeCpuBandwidth(const KnobWrite& period, const KnobWrite& quota) {
        std::string dir = dirFor("cpu");
        auto current = [&](const char* file) -> int64_t {
            auto t = fs::readFile(dir + "/" + file);
            if (!t) return 0;
            try {
                return std::stoll(fs::trim(*t));
            } catch (const std::exception&) {
                return 0;
            }
        };
        int64_t newPeriod = 0, newQuota = 0;
        try {
            newPeriod = std::stoll(period.value);
            newQuota = std::stoll(quota.value);
        } catch (const std::exception&) {
        }
        bool quotaFirst =
            !dir.empty() && cpuQuotaFirst(current("cpu.cfs_period_us"), current("cpu.cfs_quota_us"),
                                          newPeriod, newQuota);
        const KnobWrite& first = quotaFirst ? quota : period;
        const KnobWrite& second = quotaFirst ? period : quota;
        Status st = write(first);
        if (!st) {
            if (st.error().err() != EINVAL) return st;
            TRY(write(second));
            return write(first);
        }
        return write(second);
    }

    // memory.checkBeforeUpdate: refuse a limit below what the cgroup already uses, rather than
    // have the kernel reclaim or OOM-kill to meet it.
    Status checkBeforeUpdate(const nlohmann::json& r) {
        if (!r.is_object() || !r.contains("memory") || !r["memory"].is_object()) return {};
        const auto& m = r["memory"];
        if (!m.value("checkBeforeUpdate", false) || !m.contains("limit") || !m["limit"].is_number_integer())
            return {};
        int64_t limit = m["limit"].get<int64_t>();
        std::string dir = dirFor("memory");
        if (limit <= 0 || dir.empty()) return {};
        auto usage = fs::readFile(dir + "/memory.usage_in_bytes");
        if (usage && parseKnobValue(*usage) > uint64_t(limit))
            return Error::make("linux.resources.memory.limit: ", limit, " is below the current usage ",
                               fs::trim(*usage), " (checkBeforeUpdate)");
        return {};
    }

    bool isCpuset(const std::string& mount) const {
        for (auto& h : layout_.hierarchies)
            if (h.mountPoint == mount && !h.v2 && has(h.controllers, "cpuset")) return true;
        return false;
    }

    // A new v1 cpuset starts with empty cpus/mems and refuses tasks; inherit from the parent at
    // every level from the hierarchy root down.
    Status initCpuset(const std::string& mount, const std::string& dir) {
        if (dir.compare(0, mount.size(), mount) != 0)
            return Error::make("cgroup: ", dir, " is not under ", mount);
        std::string cur = mount;
        for (auto& part : fs::split(dir.substr(mount.size()), '/')) {
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

    HostLayout layout_;
    std::map<std::string, std::string> paths_;
    std::vector<std::string> made_;  // ancestors create made: removed (when empty) at destroy
};

}  // namespace

std::unique_ptr<Manager> newManager(HostLayout layout, std::map<std::string, std::string> paths,
                                    std::vector<std::string> madeParents) {
    return std::unique_ptr<Manager>(new FsManager(std::move(layout), std::move(paths), std::move(madeParents)));
}

}  // namespace berth::cgroups::v1

namespace berth::cgroups {

Result<UniqueFd> registerV1OomEventfd(const std::string& memoryDir) {
    UniqueFd efd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!efd) return Error::fromErrno("eventfd");
    // The control file may close once registered: the kernel keeps the eventfd, not the file.
    UniqueFd control(::open((memoryDir + "/memory.oom_control").c_str(), O_RDONLY | O_CLOEXEC));
    if (!control) return Error::fromErrno("cgroup: open ", memoryDir, "/memory.oom_control");
    TRY_CTX(fs::writeFile(memoryDir + "/cgroup.event_control", strCat(efd.get(), " ", control.get())),
            "cgroup: register OOM eventfd");
    return efd;
}

}  // namespace berth::cgroups
