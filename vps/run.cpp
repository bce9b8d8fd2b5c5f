// vps/run: start, stop, restart, suspend, resume and start --onboot — the verbs that change
// whether a VPS runs, through the runtime library.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

#include "common/atomic_file.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "images/store.hpp"
#include "runtime/spec/spec.hpp"
#include "vps/console.hpp"
#include "vps/host_setup.hpp"
#include "vps/internal.hpp"
#include "vps/limits.hpp"
#include "vps/spec.hpp"

namespace berth::vps {

namespace {

// The init's stdio: /dev/null in, the VPS's console log out (runtime::create hands the
// caller's 0-2 to the init when there is no terminal). berth's own are back on destruction.
class InitStdio {
public:
    static Result<InitStdio> open(const std::string& logPath) {
        InitStdio s;
        UniqueFd in(::open("/dev/null", O_RDONLY | O_CLOEXEC));
        if (!in) return Error::fromErrno("open /dev/null");
        UniqueFd out(::open(logPath.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
        if (!out) return Error::fromErrno("open ", logPath);
        for (int fd = 0; fd < 3; fd++) {
            s.saved_[fd].reset(::fcntl(fd, F_DUPFD_CLOEXEC, 3));
            if (!s.saved_[fd]) return Error::fromErrno("save fd ", fd);
        }
        s.active_ = true;
        if (::dup2(in.get(), 0) < 0 || ::dup2(out.get(), 1) < 0 || ::dup2(out.get(), 2) < 0)
            return Error::fromErrno("redirect the init's stdio");
        return s;
    }
    InitStdio() = default;
    InitStdio(InitStdio&& o) noexcept : active_(std::exchange(o.active_, false)) {
        for (int i = 0; i < 3; i++) saved_[i] = std::move(o.saved_[i]);
    }
    ~InitStdio() {
        if (!active_) return;
        for (int fd = 0; fd < 3; fd++)
            if (saved_[fd]) ::dup2(saved_[fd].get(), fd);
    }

private:
    UniqueFd saved_[3];
    bool active_ = false;
};

// One line of /proc/PID/cgroup's hierarchy on this host: its mount point ("" when unmounted).
std::string hierarchyMount(const std::string& controllers) {
    auto info = fs::readFile("/proc/self/mountinfo");
    if (!info) return "";
    for (const auto& line : fs::split(*info, '\n')) {
        auto dash = line.find(" - ");
        if (dash == std::string::npos) continue;
        auto f = fs::split(line.substr(0, dash), ' ');
        auto tail = fs::split(line.substr(dash + 3), ' ');
        if (f.size() < 5 || tail.size() < 3 || f[3] != "/") continue;
        if (controllers.empty()) {
            if (tail[0] == "cgroup2") return f[4];
            continue;
        }
        if (tail[0] != "cgroup") continue;
        auto opts = fs::split(tail[2], ',');
        bool all = true;
        for (const auto& c : fs::split(controllers, ','))
            all = all && std::find(opts.begin(), opts.end(), c) != opts.end();
        if (all) return f[4];
    }
    return "";
}

// The VPS's own cgroup in every hierarchy is handed to its root (the dir and the files that
// create and move tasks, not the limits), as LXC does for an unprivileged container: an init
// that manages cgroups (systemd) makes its slices and scopes under it, and can never raise the
// VPS's own limits. Done between create and start, before the init runs.
Status delegateCgroups(pid_t pid, const IdRange& ids) {
    ASSIGN_OR_RETURN(std::string own, fs::readFile(strCat("/proc/", pid, "/cgroup")));
    for (const auto& line : fs::split(own, '\n')) {
        auto a = line.find(':'), b = line.find(':', a + 1);
        if (a == std::string::npos || b == std::string::npos) continue;
        std::string mnt = hierarchyMount(line.substr(a + 1, b - a - 1));
        if (mnt.empty()) continue;
        std::string dir = mnt + line.substr(b + 1);
        for (const char* f : {"", "/cgroup.procs", "/tasks", "/cgroup.subtree_control", "/cgroup.threads"}) {
            std::string p = dir + f;
            if (::lchown(p.c_str(), ids.base, ids.base) < 0 && errno != ENOENT)
                return Error::fromErrno("chown ", p, " to the VPS's root");
        }
    }
    return {};
}

Status createAndStartHere(const Context& ctx, const DataLayout& d, const Config& c);

// No fsync: the file only has to outlive this boot's init, not a host crash.
Status writeInitPid(const DataLayout& d, pid_t pid) {
    std::string path = d.initPid();
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd) return Error::fromErrno("open ", path);
    std::string text = std::to_string(pid);
    if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
        return Error::fromErrno("write ", path);
    return {};
}

std::string absolute(const std::string& p) {
    if (p.empty() || p[0] == '/') return p;
    char cwd[4096];
    return ::getcwd(cwd, sizeof cwd) ? std::string(cwd) + "/" + p : p;
}

// What the holder runs when the VPS's init ends: this berth, with the options that name where
// this VPS lives, `vps init-exited NAME` (the holder adds the init's pid and how it ended).
std::vector<std::string> onInitExitCommand(const Context& ctx, const std::string& name) {
    char exe[4096];
    ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return {};
    std::vector<std::string> cmd = {std::string(exe, static_cast<size_t>(n)), "--root", absolute(ctx.global.root)};
    if (!ctx.global.store.empty()) cmd.insert(cmd.end(), {"--store", absolute(ctx.global.store)});
    if (ctx.global.systemdCgroup) cmd.push_back("--systemd-cgroup");
    cmd.insert(cmd.end(), {"vps", "--config-dir", absolute(ctx.paths.configDir), "--data-dir", absolute(ctx.paths.dataDir),
                           "--id-pool", strCat(ctx.paths.pool.start, ":", ctx.paths.pool.ranges), "init-exited", name});
    return cmd;
}

Status createAndStart(const Context& ctx, const DataLayout& d, const Config& c, const nlohmann::json& spec) {
    TRY(fs::mkdirAll(d.bundle(), 0700));
    TRY(fs::writeFileAtomicIfChanged(d.bundle() + "/config.json", spec.dump(2), 0600));
    // In a child of the VPS's console holder, which so becomes the init's parent (vps/console).
    return runUnderHolder(d, onInitExitCommand(ctx, c.name), [&]() { return createAndStartHere(ctx, d, c); });
}

Status createAndStartHere(const Context& ctx, const DataLayout& d, const Config& c) {
    std::string id = containerId(c.name);
    {
        ASSIGN_OR_RETURN(InitStdio io, InitStdio::open(d.consoleLog()));
        runtime::CreateOptions co;
        co.id = id;
        co.bundle = d.bundle();
        co.consoleSocket = consoleMasterSocket(d);  // the console step's, for the pty master
        TRY(runtime::create(ctx.global, co));
    }
    pid_t pid = 0;
    containerState(ctx, c.name, &pid);
    if (pid > 0) TRY(delegateCgroups(pid, c.ids));
    return runtime::start(ctx.global, id);
}

Status startLocked(const Context& ctx, const ConfigStore& store, const std::string& name) {
    ASSIGN_OR_RETURN(Config c, store.load(name));
    std::string st = containerState(ctx, name);
    if (st == "running" || st == "paused") return Error::make("VPS \"", name, "\" is already ", st);
    // Stopped on its own (poweroff inside) or a crash: take the leftovers down first.
    TRY(cleanupStopped(ctx, store, c));
    HostCaps caps = detectHostCaps(ctx.cgroupRoot);
    TRY(ensureReachable(ctx.paths.dataDir, images::storeRoot(ctx.global.store)));
    ASSIGN_OR_RETURN(Template t, resolveTemplate(ctx, c.templateDigest, name));
    StepContext sc{c, layoutOf(store, name), t.lowers, store.paths().configDir};
    ASSIGN_OR_RETURN(nlohmann::json spec, buildSpec(c, sc.data.rootfs(), caps, runtime::spec::defaultSpec(false)));
    auto steps = hostSteps(c);
    ScopeGuard undo([&] { (void)cleanupStopped(ctx, store, c); });
    for (auto& s : steps) TRY_CTX(s->prepare(sc, spec), "start ", name, ": ", s->name());
    TRY_CTX(createAndStart(ctx, sc.data, c, spec), "start ", name);
    pid_t pid = 0;
    containerState(ctx, name, &pid);
    // Which boot the holder's `init-exited` is about (vps::initExited): written under the lock.
    TRY(writeInitPid(sc.data, pid));
    for (auto& s : steps) TRY_CTX(s->started(sc, pid), "start ", name, ": ", s->name());
    undo.dismiss();
    return {};
}

// Wait until the container is no longer running (its init exited); false on timeout.
bool waitStopped(const Context& ctx, const std::string& name, std::chrono::milliseconds timeout) {
    auto until = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        std::string st = containerState(ctx, name);
        if (!isUp(st)) return true;
        if (std::chrono::steady_clock::now() >= until) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
}

Result<StopResult> stopLocked(const Context& ctx, const ConfigStore& store, const Config& c, const StopOptions& o) {
    StopResult r;
    std::string id = containerId(c.name);
    std::string st = containerState(ctx, c.name);
    r.wasRunning = st == "running" || st == "paused";
    // Frozen tasks act on no signal, SIGKILL included, until thawed.
    if (st == "paused") TRY(runtime::resume(ctx.global, id));
    if (r.wasRunning && !o.fast) {
        TRY(runtime::kill(ctx.global, runtime::KillOptions{id, c.init.stopSignal, false}));
        r.graceful = waitStopped(ctx, c.name, o.timeout);
        log::debug("vps stop ", c.name, ": graceful=", r.graceful);
    }
    if (isUp(containerState(ctx, c.name))) {
        (void)runtime::kill(ctx.global, runtime::KillOptions{id, "SIGKILL", true});
        waitStopped(ctx, c.name, std::chrono::seconds(10));
    }
    TRY(cleanupStopped(ctx, store, c));
    return r;
}

}  // namespace

Status start(const Context& ctx, const std::string& name) {
    TRY(validateName(name));
    ConfigStore store(ctx.paths);
    ASSIGN_OR_RETURN(UniqueFd lock, store.lock());
    return startLocked(ctx, store, name);
}

Result<std::vector<std::string>> startOnboot(const Context& ctx) {
    ConfigStore store(ctx.paths);
    ASSIGN_OR_RETURN(UniqueFd lock, store.lock());
    ASSIGN_OR_RETURN(auto names, store.names());
    std::vector<std::string> started;
    Status first;
    for (const auto& n : names) {
        auto c = store.load(n);
        if (!c) {
            if (first) first = std::move(c).error();
            continue;
        }
        if (!c->onboot) continue;
        std::string st = containerState(ctx, n);
        if (st == "running" || st == "paused") continue;
        Status s = startLocked(ctx, store, n);
        if (s) started.push_back(n);
        else if (first) first = std::move(s).error();
    }
    if (!first) return std::move(first).error();
    return started;
}

Result<StopResult> stop(const Context& ctx, const std::string& name, const StopOptions& o) {
    TRY(validateName(name));
    ConfigStore store(ctx.paths);
    ASSIGN_OR_RETURN(UniqueFd lock, store.lock());
    ASSIGN_OR_RETURN(Config c, store.load(name));
    return stopLocked(ctx, store, c, o);
}

Status initExited(const Context& ctx, const std::string& name, pid_t pid, const std::string& how) {
    TRY(validateName(name));
    ConfigStore store(ctx.paths);
    ASSIGN_OR_RETURN(UniqueFd lock, store.lock());
    if (!store.exists(name)) return {};  // destroyed meanwhile
    ASSIGN_OR_RETURN(Config c, store.load(name));
    // `vps stop`, `restart` or `destroy` got here first, or a new boot runs: theirs to handle.
    std::string st = containerState(ctx, name);
    auto boot = fs::readFile(layoutOf(store, name).initPid());
    if (st.empty() || isUp(st) || !boot || fs::trim(*boot) != std::to_string(pid)) return {};
    TRY_CTX(cleanupStopped(ctx, store, c), "VPS ", name, " (its init ended: ", how, ")");
    if (how != "reboot") return {};
    return startLocked(ctx, store, name);
}

Status restart(const Context& ctx, const std::string& name, const StopOptions& o) {
    TRY(validateName(name));
    ConfigStore store(ctx.paths);
    ASSIGN_OR_RETURN(UniqueFd lock, store.lock());
    ASSIGN_OR_RETURN(Config c, store.load(name));
    TRY(stopLocked(ctx, store, c, o));
    return startLocked(ctx, store, name);
}

Status suspend(const Context& ctx, const std::string& name) {
    TRY(validateName(name));
    ConfigStore store(ctx.paths);
    ASSIGN_OR_RETURN(Config c, store.load(name));
    if (containerState(ctx, name) != "running") return Error::make("VPS \"", name, "\" is not running");
    return runtime::pause(ctx.global, containerId(name));
}

Status resume(const Context& ctx, const std::string& name) {
    TRY(validateName(name));
    ConfigStore store(ctx.paths);
    ASSIGN_OR_RETURN(Config c, store.load(name));
    if (containerState(ctx, name) != "paused") return Error::make("VPS \"", name, "\" is not suspended");
    return runtime::resume(ctx.global, containerId(name));
}

}  // namespace berth::vps
