// create: load and check the bundle, pick its handler, record the container, make the exec
// fifo and have the handler launch it (runtime/namespaces_handler.cpp: the cgroup and the init,
// which waits on the fifo). Every step is undone if a later one fails.
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>

#include "common/clock.hpp"
#include "common/crash_point.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "runtime/container.hpp"
#include "runtime/foreground.hpp"
#include "runtime/handler.hpp"

namespace berth::runtime {
namespace {

Status checkSpec(const spec::Spec& s) {
    if (!s.process) return Error::make("config.json: process: required to create a container");
    if (!s.linux) return Error::make("config.json: linux: required on Linux");
    return {};
}

Result<std::string> absoluteBundle(const std::string& bundle) {
    char buf[PATH_MAX];
    if (!::realpath(bundle.c_str(), buf)) return Error::fromErrno("bundle ", bundle);
    return std::string(buf);
}

// The host id the container's root maps to; -1 without a mapping of 0 (no user namespace, or
// one joined by path).
long hostIdOfRoot(const std::vector<spec::IdMapping>& maps) {
    for (auto& m : maps)
        if (m.containerID == 0 && m.size > 0) return static_cast<long>(m.hostID);
    return -1;
}

// The init opens the fifo for writing after its user switch, possibly as a mapped root or an
// unprivileged process.user: 0622 whatever our umask, owned by the container's root, as runc's
// createExecFifo does.
Status makeExecFifo(const std::string& path, const spec::Spec& sp) {
    if (::mkfifo(path.c_str(), 0622) < 0) return Error::fromErrno("create exec fifo ", path);
    if (::fchmodat(AT_FDCWD, path.c_str(), 0622, 0) < 0) return Error::fromErrno("chmod exec fifo ", path);
    long uid = hostIdOfRoot(sp.linux->uidMappings), gid = hostIdOfRoot(sp.linux->gidMappings);
    if ((uid >= 0 || gid >= 0) &&
        ::fchownat(AT_FDCWD, path.c_str(), static_cast<uid_t>(uid), static_cast<gid_t>(gid), AT_SYMLINK_NOFOLLOW) < 0)
        return Error::fromErrno("chown exec fifo ", path, " to the container's root");
    return {};
}

}  // namespace


Status writePidFile(const std::string& path, pid_t pid) {
    if (path.empty()) return {};
    return fs::writeFileAtomic(path, std::to_string(pid), 0644);
}

std::string hookStateJson(const state::ContainerState& s, const char* status, pid_t pid) {
    nlohmann::json j = {{"ociVersion", spec::kSpecVersion}, {"id", s.id},         {"status", status},
                        {"pid", pid},                       {"bundle", s.bundle}, {"annotations", s.annotations}};
    return j.dump();
}

Result<Created> createContainer(const GlobalOptions& g, const CreateOptions& o, bool withFifo,
                                bool relayTerminal) {
    ASSIGN_OR_RETURN(std::string bundle, absoluteBundle(o.bundle));
    ASSIGN_OR_RETURN(spec::Spec sp, spec::loadFromBundle(bundle));
    TRY(checkSpec(sp));
    ASSIGN_OR_RETURN(std::string handlerName, handlerFor(g, sp));
    Handler& h = *findHandler(handlerName);
    TRY(h.check(sp));
    std::optional<RelaySocket> relay;
    if (relayTerminal && sp.process->terminal && o.consoleSocket.empty()) {
        ASSIGN_OR_RETURN(relay, openRelaySocket());
        if (relay->size) sp.process->consoleSize = relay->size;
    }
    state::Store store(g.root);
    ASSIGN_OR_RETURN(state::Lock lock, store.createAndLock(o.id));
    ScopeGuard removeState([&] { (void)store.remove(o.id); });

    Created out;
    state::ContainerState& st = out.st;
    ASSIGN_OR_RETURN(st, newRecord(o, bundle, sp));
    st.handler = handlerName;
    // The config is written once, beside the record (the record is saved three times): the
    // text that was validated, byte for byte; then the document moves into the record (run's
    // delete runs its poststop hooks from there; nothing else reads sp.document).
    TRY(store.saveConfig(o.id, sp.sourceText.empty() ? sp.document.dump() : sp.sourceText));
    st.config = std::move(sp.document);
    TRY(store.save(st));  // from here a crash leaves enough for `delete --force`
    crashPoint("create:state-saved");

    HandlerRequest req;
    req.spec = &sp;
    req.global = &g;
    req.options = &o;
    req.record = &st;
    req.bundle = bundle;
    req.stateDir = store.dir(o.id);
    req.consoleFd = relay ? relay->theirs.get() : -1;
    req.save = [&] { return store.save(st); };
    req.stateJson = [&](pid_t pid, const char* status) { return hookStateJson(st, status, pid); };
    if (withFifo) {
        req.fifoPath = store.fifoPath(o.id);
        TRY(makeExecFifo(req.fifoPath, sp));
    }
    ASSIGN_OR_RETURN(HandlerLaunched l, h.launch(req));
    ScopeGuard undoLaunch([&] { (void)h.destroy({st, req.stateDir, state::ContainerStatus::Creating}); });
    crashPoint("create:ready");
    if (relay) {
        ASSIGN_OR_RETURN(out.master, receiveMaster(*relay));
    }
    // Without a fifo (run) the process is already executing: record it as running at once.
    st.saved = withFifo ? state::ContainerStatus::Created : state::ContainerStatus::Running;
    TRY(store.save(st));
    TRY_CTX(writePidFile(o.pidFile, st.pid), "write pid file");
    crashPoint("create:created");
    undoLaunch.dismiss();
    removeState.dismiss();
    out.waitPid = l.waitPid;
    out.spec = std::move(sp);
    log::debug("created container ", o.id, " (handler \"", handlerName, "\"), pid ", st.pid);
    return out;
}

Status create(const GlobalOptions& g, const CreateOptions& o) {
    auto c = createContainer(g, o, true);
    if (!c) return std::move(c).error();
    return {};
}

}  // namespace berth::runtime
