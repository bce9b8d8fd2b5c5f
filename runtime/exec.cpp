// exec: run another process in a running container, built from --process or from the
// container's own process with the command-line overrides, as runc does.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

#include "common/fs.hpp"
#include "common/log.hpp"
#include "cgroups/sub_cgroup.hpp"
#include "runtime/container.hpp"
#include "runtime/process/join.hpp"
#include "runtime/process/terminal.hpp"
#include "runtime/foreground.hpp"
#include "runtime/handler.hpp"

namespace berth::runtime {
namespace {

Result<spec::User> parseUser(const std::string& u) {
    spec::User out;
    auto parts = fs::split(u, ':');
    auto num = [&](const std::string& s) -> Result<uint32_t> {
        if (s.empty() || !std::all_of(s.begin(), s.end(), ::isdigit) || s.size() > 10)
            return Error::make("invalid --user \"", u, "\": expected uid[:gid]");
        return static_cast<uint32_t>(std::stoul(s));
    };
    if (parts.size() > 2) return Error::make("invalid --user \"", u, "\": expected uid[:gid]");
    ASSIGN_OR_RETURN(out.uid, num(parts[0]));
    if (parts.size() == 2) {
        ASSIGN_OR_RETURN(out.gid, num(parts[1]));
    }
    return out;
}

void setEnv(std::vector<std::string>& env, const std::string& kv) {
    auto key = kv.substr(0, kv.find('='));
    for (auto& e : env)
        if (e.substr(0, e.find('=')) == key) {
            e = kv;
            return;
        }
    env.push_back(kv);
}

Result<spec::Process> buildProcess(const ExecOptions& o, const state::ContainerState& st) {
    if (!o.processFile.empty()) {
        ASSIGN_OR_RETURN(std::string text, fs::readFile(o.processFile));
        return spec::parseProcess(text, o.processFile);
    }
    if (o.args.empty()) return Error::make("exec: a command is required (or --process FILE)");
    ASSIGN_OR_RETURN(spec::Spec sp, spec::parse(st.config.dump(), "container config"));
    spec::Process p = sp.process ? *sp.process : spec::Process{};
    p.args = o.args;
    p.terminal = o.tty;
    p.consoleSize.reset();
    for (auto& e : o.env) setEnv(p.env, e);
    if (!o.cwd.empty()) p.cwd = o.cwd;
    if (!o.user.empty()) {
        // Only uid (and gid when given) change; umask and additionalGids stay the config's.
        ASSIGN_OR_RETURN(spec::User u, parseUser(o.user));
        p.user.uid = u.uid;
        if (o.user.find(':') != std::string::npos) p.user.gid = u.gid;
    }
    p.user.additionalGids.insert(p.user.additionalGids.end(), o.additionalGids.begin(), o.additionalGids.end());
    if (o.noNewPrivs) p.noNewPrivileges = true;
    if (!o.apparmor.empty()) p.apparmorProfile = o.apparmor;
    if (!o.caps.empty()) {
        if (!p.capabilities) p.capabilities = spec::Capabilities{};
        for (auto* set : {&p.capabilities->bounding, &p.capabilities->effective, &p.capabilities->permitted,
                          &p.capabilities->inheritable, &p.capabilities->ambient})
            set->insert(set->end(), o.caps.begin(), o.caps.end());
    }
    return p;
}

// exec in a handled container with a terminal or --detach: the process runs where the handler
// puts it (a guest), so a host process stands for it — a child that asks the handler to run it
// with the child's stdio and exits with its exit code. With a terminal that stdio is a raw pty
// whose master goes to --console-socket, or to us to relay (foreground, as runc); detached, the
// child's pid is the pid-file pid conmon and containerd's shim reap once we are gone.
Result<int> execThroughProxy(Handler& h, const ExecOptions& o, const state::ContainerState& st,
                             const std::string& stateDir, spec::Process proc) {
    if (proc.terminal && o.consoleSocket.empty() && o.detach)
        return Error::make("exec with a terminal needs --console-socket");
    sigset_t all, old;
    sigfillset(&all);
    ::sigprocmask(SIG_BLOCK, &all, &old);
    ScopeGuard restoreMask([&] { ::sigprocmask(SIG_SETMASK, &old, nullptr); });
    std::optional<RelaySocket> relay;
    if (proc.terminal && o.consoleSocket.empty()) {
        ASSIGN_OR_RETURN(relay, openRelaySocket());
        if (relay->size && !proc.consoleSize) proc.consoleSize = relay->size;
    }
    // The child says when its pty master is on its way (or why not): conmon expects it to have
    // arrived at the console socket by the time `exec -d` returns.
    int sync[2];
    if (::pipe2(sync, O_CLOEXEC) < 0) return Error::fromErrno("pipe for the exec proxy");
    UniqueFd syncRd(sync[0]), syncWr(sync[1]);
    pid_t pid = ::fork();
    if (pid < 0) return Error::fromErrno("fork the exec proxy");
    if (pid == 0) {
        syncRd.reset();
        ::setsid();
        ::sigprocmask(SIG_SETMASK, &old, nullptr);
        if (proc.terminal) {
            UniqueFd sock;
            if (relay) {
                sock = std::move(relay->theirs);
            } else if (auto s = process::connectConsoleSocket(o.consoleSocket)) {
                sock = std::move(*s);
            } else {
                std::string msg = s.error().what();
                (void)!::write(syncWr.get(), msg.data(), msg.size());
                ::_exit(255);
            }
            if (Status t = process::setupRawTerminalInChild(sock.get(), proc.consoleSize); !t) {
                std::string msg = t.error().what();
                (void)!::write(syncWr.get(), msg.data(), msg.size());
                ::_exit(255);
            }
        }
        syncWr.reset();  // EOF with nothing said: ready
        auto code = h.exec(st, stateDir, proc);
        if (!code) {
            log::error(code.error().what());
            ::_exit(255);
        }
        ::_exit(*code & 0xff);
    }
    auto killProxy = [pid] {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
    };
    syncWr.reset();
    std::string failure;
    char buf[512];
    ssize_t n;
    while ((n = ::read(syncRd.get(), buf, sizeof buf)) != 0) {
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) break;
        failure.append(buf, static_cast<size_t>(n));
    }
    if (!failure.empty()) {
        killProxy();
        return Error::make(failure);
    }
    UniqueFd master;
    if (relay) {
        auto m = receiveMaster(*relay);
        if (!m) {
            killProxy();
            return std::move(m).error();
        }
        master = std::move(*m);
    }
    if (Status written = writePidFile(o.pidFile, pid); !written) {
        killProxy();
        Error e = std::move(written).error();
        return std::move(e.context("write pid file"));
    }
    if (o.detach) return 0;
    sigset_t forward;
    sigfillset(&forward);
    return waitForeground(pid, master ? master.get() : -1, forward);
}

}  // namespace

Result<int> exec(const GlobalOptions& g, const ExecOptions& o) {
    state::Store store(g.root);
    ASSIGN_OR_RETURN(state::ContainerState st, store.load(o.id));
    auto live = store.liveStatus(st);
    if (live == state::ContainerStatus::Paused && !o.ignorePaused)
        return Error::make("cannot exec in container \"", o.id, "\": it is paused (use --ignore-paused to override)");
    if (live != state::ContainerStatus::Running && live != state::ContainerStatus::Created &&
        live != state::ContainerStatus::Paused)
        return Error::make("cannot exec in container \"", o.id, "\": it is ", state::statusName(live));
    ASSIGN_OR_RETURN(auto subCgroups, cgroups::parseSubCgroupArgs(o.subCgroups));
    ASSIGN_OR_RETURN(spec::Process proc, buildProcess(o, st));
    if (!st.handler.empty()) {
        Handler* h = findHandler(st.handler);
        if (!h) return Error(EINVAL, strCat("container \"", o.id, "\": handler \"", st.handler, "\" is not available"));
        if (!subCgroups.empty()) return Error(ENOTSUP, "exec --cgroup: not supported by this handler");
        if (!proc.terminal && !o.detach) return h->exec(st, store.dir(o.id), proc);
        return execThroughProxy(*h, o, st, store.dir(o.id), std::move(proc));
    }
    cgroups::Saved joined = st.cgroup;
    if (!subCgroups.empty()) {
        ASSIGN_OR_RETURN(auto layout, cgroups::detectLayout());
        ASSIGN_OR_RETURN(joined, cgroups::withSubCgroups(st.cgroup, subCgroups, layout));
    }
    ASSIGN_OR_RETURN(auto cg, cgroups::loadManager(joined));
    nlohmann::json seccomp;
    if (st.config.contains("linux") && st.config["linux"].contains("seccomp"))
        seccomp = st.config["linux"]["seccomp"];

    sigset_t all, old;
    sigfillset(&all);
    ::sigprocmask(SIG_BLOCK, &all, &old);
    ScopeGuard restoreMask([&] { ::sigprocmask(SIG_SETMASK, &old, nullptr); });

    // runc's foreground `exec -t`: without a console socket berth relays the pty itself.
    std::optional<RelaySocket> relay;
    if (proc.terminal && o.consoleSocket.empty() && !o.detach) {
        ASSIGN_OR_RETURN(relay, openRelaySocket());
        if (relay->size) proc.consoleSize = relay->size;
    }
    process::JoinConfig jc;
    jc.consoleFd = relay ? relay->theirs.get() : -1;
    jc.containerPid = st.pid;
    jc.process = &proc;
    jc.seccomp = &seccomp;
    jc.consoleSocket = o.consoleSocket;
    jc.preserveFds = o.preserveFds;
    jc.cgroup = cg.get();
    jc.stateJson = [&st, live] { return state::publicJson(st, live).dump(); };
    if (st.config.contains("linux") && st.config["linux"].contains("personality")) {
        ASSIGN_OR_RETURN(jc.personality, security::personalityFor(st.config["linux"]["personality"]));
    }
    ASSIGN_OR_RETURN(process::Launched l, process::launchInContainer(jc));
    UniqueFd master;
    if (relay) {
        auto m = receiveMaster(*relay);
        if (!m) {
            ::kill(l.pid, SIGKILL);
            return std::move(m).error();
        }
        master = std::move(*m);
    }
    TRY_CTX(writePidFile(o.pidFile, l.pid), "write pid file");
    if (o.detach) return 0;
    sigset_t forward;
    sigfillset(&forward);
    return waitForeground(l.pid, master ? master.get() : -1, forward);
}

}  // namespace berth::runtime
