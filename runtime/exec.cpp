// exec: run another process in a running container, built from --process or from the
// container's own process with the command-line overrides, as runc does; its handler starts it
// (runtime/namespaces_handler.cpp: joined to the init's namespaces), superviseExec waits.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

#include "common/fs.hpp"
#include "common/log.hpp"
#include "cgroups/sub_cgroup.hpp"
#include "runtime/container.hpp"
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

}  // namespace

Result<int> superviseExec(pid_t pid, const ExecRequest& r) {
    const ExecOptions& o = *r.options;
    auto killIt = [pid] {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
    };
    UniqueFd master;
    if (r.relay) {
        auto m = receiveMaster(*r.relay);
        if (!m) {
            killIt();
            return std::move(m).error();
        }
        master = std::move(*m);
    }
    if (Status written = writePidFile(o.pidFile, pid); !written) {
        killIt();
        Error e = std::move(written).error();
        return std::move(e.context("write pid file"));
    }
    if (o.detach) return 0;
    sigset_t forward;
    sigfillset(&forward);
    return waitForeground(pid, master ? master.get() : -1, forward);
}

Result<int> exec(const GlobalOptions& g, const ExecOptions& o) {
    state::Store store(g.root);
    ASSIGN_OR_RETURN(state::ContainerState st, store.load(o.id));
    auto live = store.liveStatus(st);
    if (live == state::ContainerStatus::Paused && !o.ignorePaused)
        return Error::make("cannot exec in container \"", o.id, "\": it is paused (use --ignore-paused to override)");
    if (live != state::ContainerStatus::Running && live != state::ContainerStatus::Created &&
        live != state::ContainerStatus::Paused)
        return Error::make("cannot exec in container \"", o.id, "\": it is ", state::statusName(live));
    TRY(cgroups::parseSubCgroupArgs(o.subCgroups));  // a bad --cgroup is refused before anything runs
    ASSIGN_OR_RETURN(spec::Process proc, buildProcess(o, st));
    ASSIGN_OR_RETURN(Handler * h, handlerOf(st));
    if (proc.terminal && o.consoleSocket.empty() && o.detach)
        return Error::make("exec with a terminal needs --console-socket");
    // runc's foreground `exec -t`: without a console socket berth relays the pty itself.
    std::optional<RelaySocket> relay;
    if (proc.terminal && o.consoleSocket.empty()) {
        ASSIGN_OR_RETURN(relay, openRelaySocket());
        if (relay->size) proc.consoleSize = relay->size;
    }
    return h->exec({st, store.dir(o.id), live}, ExecRequest{&o, &proc, relay ? &*relay : nullptr});
}

}  // namespace berth::runtime
