// The systemd driver, as runc's: the container's cgroup is a transient scope (Delegate=yes) with
// the resources as unit properties, and then every knob is ALSO written through the cgroupfs
// manager on the scope's directories, for what systemd cannot express (swap, swappiness, cpuset
// and freezer on v1, device rules it has no form for, ...).
//
// A scope must be started with its first process, but create() and apply() run before the
// container's init exists: they make the directories and record the resources, and the first
// addProcess(pid) starts the unit.
#include "cgroups/systemd/manager.hpp"

#include <signal.h>
#include <unistd.h>

#include <optional>
#include <sstream>
#include <thread>

#include "cgroups/placement.hpp"
#include "cgroups/resources.hpp"
#include "cgroups/systemd/bus.hpp"
#include "cgroups/systemd/properties.hpp"
#include "cgroups/v1/manager.hpp"
#include "cgroups/v2/manager.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"

namespace berth::cgroups::systemd {
namespace {

// systemd's own cgroup in each hierarchy (PID 1's, without "init.scope"): where its units live.
// In a container with its own cgroup namespace that is "/".
std::map<std::string, std::string> systemdRoots(const HostLayout& layout) {
    auto text = fs::readFile("/proc/1/cgroup");
    auto own = text ? parseProcCgroup(*text) : std::map<std::string, std::string>{};
    std::map<std::string, std::string> roots;
    for (auto& h : layout.hierarchies) {
        auto it = own.find(h.v2 ? "" : h.controllers.front());
        std::string base = it == own.end() ? "/" : fs::cleanPath("/" + it->second);
        const std::string init = "/init.scope";
        if (base.size() >= init.size() && base.compare(base.size() - init.size(), init.size(), init) == 0)
            base = fs::cleanPath("/" + base.substr(0, base.size() - init.size()));
        roots[h.mountPoint] = base;
    }
    return roots;
}

// The unit's directory in every hierarchy for a ControlGroup ("/system.slice/x.scope").
std::map<std::string, std::string> pathsFor(const HostLayout& layout, const std::string& controlGroup) {
    std::map<std::string, std::string> paths;
    for (auto& [mount, root] : systemdRoots(layout))
        paths[mount] = fs::joinPath(mount, fs::cleanPath(root + "/" + controlGroup));
    return paths;
}

// "136 pts" under "Character devices:" in /proc/devices → "pts" for ('c', 136).
std::string deviceGroupFromProc(char type, int64_t major) {
    auto text = fs::readFile("/proc/devices");
    if (!text) return "";
    std::istringstream in(*text);
    std::string line;
    bool block = false;
    while (std::getline(in, line)) {
        if (line.rfind("Character", 0) == 0) block = false;
        if (line.rfind("Block", 0) == 0) block = true;
        std::istringstream l(line);
        int64_t num;
        std::string name;
        if ((l >> num >> name) && num == major && block == (type == 'b')) return name;
    }
    return "";
}

std::string unifiedRoot(const HostLayout& layout) {
    for (auto& h : layout.hierarchies)
        if (h.v2) return h.mountPoint;
    return "";
}

// The cgroupfs manager for the scope's directories: v1 (and hybrid) or cgroup2.
Result<std::unique_ptr<Manager>> fsManager(const HostLayout& layout,
                                           const std::map<std::string, std::string>& paths) {
    if (layout.layout != Layout::Unified) return v1::newManager(layout, paths);
    std::string root = unifiedRoot(layout);
    auto it = paths.find(root);
    if (it == paths.end()) return Error::make("systemd: no cgroup2 path for the unit");
    return v2::newManager(root, it->second);
}

class SystemdManager final : public Manager {
public:
    struct Unit {
        std::string id, slice, name;
    };
    SystemdManager(HostLayout layout, std::map<std::string, std::string> paths, Unit unit,
                   std::unique_ptr<Manager> fs, bool started)
        : layout_(std::move(layout)), paths_(std::move(paths)), unit_(std::move(unit)),
          fs_(std::move(fs)), started_(started) {}

    // The unit itself needs its first process; but the init builds its rootfs while the parent
    // starts the unit, and a bind-mounted cgroup view needs the directories now. systemd adopts
    // directories that already exist when it realizes the scope.
    Status create() override {
        for (auto& [mount, dir] : paths_)
            if (!fs::exists(dir)) made_.push_back(dir);
        return fs_->create();
    }

    Status apply(const nlohmann::json& resources) override {
        // Refuse bad values now, not after the init exists.
        TRY(mapResources(resources, 0));
        if (layout_.layout != Layout::Unified) TRY(v1Knobs(resources));
        resources_ = resources;
        if (!started_) return {};
        ASSIGN_OR_RETURN(Bus * bus, connected());
        ASSIGN_OR_RETURN(auto props, mapResources(resources, bus->version()));
        if (!props.empty()) TRY(bus->setUnitProperties(unit_.name, props));
        return fs_->apply(resources);
    }

    Status addProcess(pid_t pid) override {
        if (started_) return fs_->addProcess(pid);
        return startWith(pid);
    }

    Status refuseFrozen() const override { return fs_->refuseFrozen(); }
    Result<std::vector<pid_t>> pids() const override { return fs_->pids(); }
    Status freeze(bool frozen) override { return fs_->freeze(frozen); }
    Result<Stats> stats() const override { return fs_->stats(); }
    Result<std::unique_ptr<OomNotifier>> oomNotifier() const override { return fs_->oomNotifier(); }

    Status destroy() override {
        // Not started (StartTransientUnit failed, e.g. the unit exists): the directories may be
        // another container's, so only what create() made is removed, and nothing is killed.
        if (!started_) return removeMade();
        killRemaining();
        Status stopped = stopUnit();
        // Directories systemd does not own on v1 (freezer, cpuset, ...) are ours to remove.
        Status removed = fs_->destroy();
        return stopped ? removed : stopped;
    }

    std::map<std::string, std::string> paths() const override { return paths_; }
    Saved saved() const override { return {"systemd", paths_, unit_.name}; }
    const HostLayout& layout() const override { return layout_; }

private:
    Result<std::vector<Property>> mapResources(const nlohmann::json& r, int version) const {
        MappingOptions o;
        o.unified = layout_.layout == Layout::Unified;
        o.systemdVersion = version;
        o.deviceGroup = deviceGroupFromProc;
        auto props = resourceProperties(r, o);
        if (!props) return std::move(props.error().context("systemd: ", unit_.name));
        return props;
    }

    Status removeMade() {
        for (auto& dir : made_)
            if (::rmdir(dir.c_str()) != 0 && errno != ENOENT)
                return Error::fromErrno("cgroup: rmdir ", dir);
        made_.clear();
        return {};
    }

    Status stopUnit() {
        ASSIGN_OR_RETURN(Bus * bus, connected());
        return bus->stopUnit(unit_.name);
    }

    Result<Bus*> connected() {
        if (!bus_) {
            ASSIGN_OR_RETURN(Bus b, Bus::connect());
            bus_.emplace(std::move(b));
        }
        return &*bus_;
    }

    Status startWith(pid_t pid) {
        ASSIGN_OR_RETURN(Bus * bus, connected());
        bool unified = layout_.layout == Layout::Unified;
        std::vector<Property> props = scopeProperties(unit_.id, unit_.slice, pid, unified);
        ASSIGN_OR_RETURN(auto res, mapResources(resources_, bus->version()));
        props.insert(props.end(), res.begin(), res.end());
        log::debug("systemd: StartTransientUnit ", unit_.name, " ", describe(props));
        TRY(bus->startTransientUnit(unit_.name, props));
        started_ = true;
        TRY(followControlGroup(*bus));
        // systemd made the cgroups of the controllers it manages; the fs manager makes the
        // rest, joins the pid to them and writes every knob (runc's joinCgroups + Set).
        TRY(fs_->create());
        TRY(fs_->addProcess(pid));
        if (!resources_.is_null()) TRY(fs_->apply(resources_));
        return {};
    }

    // The paths were derived from the slice name; systemd's ControlGroup is the authority.
    Status followControlGroup(Bus& bus) {
        auto cg = bus.controlGroup(unit_.name);
        if (!cg || cg->empty()) {
            log::debug("systemd: no ControlGroup for ", unit_.name, "; keeping the derived paths");
            return {};
        }
        auto paths = pathsFor(layout_, *cg);
        if (paths == paths_) return {};
        log::debug("systemd: ", unit_.name, " is at ", *cg, ", not where its slice name says");
        ASSIGN_OR_RETURN(fs_, fsManager(layout_, paths));
        paths_ = std::move(paths);
        return {};
    }

    // What outlived the init (exec'd processes without a pid namespace) would make systemd
    // wait TimeoutStopSec for SIGTERM: SIGKILL it first, as the cgroupfs manager does.
    void killRemaining() {
        for (int round = 0; round < 100; round++) {
            auto list = fs_->pids();
            if (!list || list->empty()) return;
            for (pid_t p : *list) ::kill(p, SIGKILL);
            std::this_thread::sleep_for(std::chrono::milliseconds(round < 10 ? 1 : 10));
        }
    }

    HostLayout layout_;
    std::map<std::string, std::string> paths_;
    Unit unit_;
    std::unique_ptr<Manager> fs_;
    bool started_ = false;
    nlohmann::json resources_;
    std::optional<Bus> bus_;
    std::vector<std::string> made_;  // directories create() made (none of them existed)
};

}  // namespace

bool isRunning() { return fs::exists("/run/systemd/system"); }

Result<std::unique_ptr<Manager>> newManager(const Config& cfg, HostLayout layout) {
    ASSIGN_OR_RETURN(SystemdUnit u, systemdUnitFor(cfg.cgroupsPath, cfg.id));
    if (u.unit.size() > 6 && u.unit.compare(u.unit.size() - 6, 6, ".slice") == 0)
        return Error::make("linux.cgroupsPath: \"", cfg.cgroupsPath, "\": a container needs a scope, and ",
                           u.unit, " is a slice");
    // Known before the unit exists, so the container's cgroup view can be planned at create.
    auto paths = pathsFor(layout, expandSlice(u.slice) + "/" + u.unit);
    ASSIGN_OR_RETURN(auto fs, fsManager(layout, paths));
    SystemdManager::Unit unit{cfg.id, u.slice, u.unit};
    return std::unique_ptr<Manager>(
        new SystemdManager(std::move(layout), std::move(paths), std::move(unit), std::move(fs), false));
}

Result<std::unique_ptr<Manager>> loadManager(const Saved& saved) {
    if (saved.unit.empty()) return Error::make("cgroup: the saved state names no systemd unit");
    ASSIGN_OR_RETURN(HostLayout layout, detectLayout());
    ASSIGN_OR_RETURN(auto fs, fsManager(layout, saved.paths));
    SystemdManager::Unit unit{"", "", saved.unit};
    return std::unique_ptr<Manager>(
        new SystemdManager(std::move(layout), saved.paths, std::move(unit), std::move(fs), true));
}

}  // namespace berth::cgroups::systemd
