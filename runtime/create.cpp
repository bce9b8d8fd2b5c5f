// create: load and check the bundle, record the container, make its cgroup and launch its
// init, which waits on the exec fifo. Every step is undone if a later one fails.
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>

#include "cgroups/resources.hpp"
#include "cgroups/rootless.hpp"
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
    ASSIGN_OR_RETURN(std::string handler, handlerFor(g, sp));
    std::optional<RelaySocket> relay;
    if (relayTerminal && sp.process->terminal && o.consoleSocket.empty()) {
        ASSIGN_OR_RETURN(relay, openRelaySocket());
        if (relay->size) sp.process->consoleSize = relay->size;
    }
    if (!handler.empty()) return createWithHandler(g, o, bundle, std::move(sp), handler, withFifo, relay);
    // Ignored input the user should hear about (e.g. capabilities this kernel does not know).
    for (auto& w : sp.warnings) log::warn(w);
    for (auto& path : cgroups::unappliedResources(sp.linux->resources))
        log::warn("config.json: ", path, ": not applied (unknown to this version of berth)");
    state::Store store(g.root);
    ASSIGN_OR_RETURN(state::Lock lock, store.createAndLock(o.id));
    ScopeGuard removeState([&] { (void)store.remove(o.id); });

    Created out;
    state::ContainerState& st = out.st;
    ASSIGN_OR_RETURN(st, newRecord(o, bundle, sp));
    st.systemdCgroup = g.systemdCgroup;
    st.noPivot = o.noPivot;

    cgroups::Config cc{sp.linux->cgroupsPath, o.id, g.systemdCgroup, "", ""};
    cc.rootless = g.rootless;
    ASSIGN_OR_RETURN(auto cg, cgroups::newManager(cc));
    if (cg->saved().driver == cgroups::kNoCgroupDriver) {
        std::string limits;
        for (auto& l : cgroups::limitsSet(sp.linux->resources)) limits += (limits.empty() ? "" : ", ") + l;
        if (!limits.empty())
            log::warn("rootless: no cgroup (this user may not create one), so linux.resources ", limits,
                      " not applied");
    }
    // Checked before the cgroup is made or recorded: a frozen one is someone else's to thaw,
    // and nothing of it may be removed (or killed) on the way out.
    TRY(cg->refuseFrozen());
    st.cgroup = cg->saved();
    TRY(store.save(st));  // from here a crash leaves enough for `delete --force`
    crashPoint("create:state-saved");
    ScopeGuard removeCgroup([&] { (void)cg->destroy(); });  // also undoes a partial create
    TRY(cg->create());
    std::vector<std::string> devicePaths;
    for (auto& d : sp.linux->devices) devicePaths.push_back(d.path);
    TRY(cg->apply(cgroups::withDefaultDeviceRules(sp.linux->resources, devicePaths)));
    crashPoint("create:cgroup-made");

    std::string fifo;
    if (withFifo) {
        fifo = store.fifoPath(o.id);
        TRY(makeExecFifo(fifo, sp));
    }
    process::LaunchConfig lc;
    lc.spec = &sp;
    lc.rootfs = rootfsConfigFor(sp, bundle, cg.get(), o.noPivot);
    lc.fifoPath = fifo;
    lc.consoleSocket = o.consoleSocket;
    lc.consoleFd = relay ? relay->theirs.get() : -1;
    lc.preserveFds = o.preserveFds;
    lc.cgroup = cg.get();
    lc.stateJson = [&](pid_t pid, const char* status) { return hookStateJson(st, status, pid); };
    lc.onCloned = [&](pid_t pid) {
        st.pid = pid;
        st.pidStartTime = state::processStartTime(pid);  // the child waits for Go: still alive
        Status saved = store.save(st);
        crashPoint("create:cloned");
        return saved;
    };
    ASSIGN_OR_RETURN(out.init, process::launchInit(lc));
    crashPoint("create:ready");
    if (relay) {
        ASSIGN_OR_RETURN(out.master, receiveMaster(*relay));
    }
    // The systemd driver knows its unit's cgroups only once the init joined it.
    st.cgroup = cg->saved();
    // Without a fifo (run) the process is already executing: record it as running at once.
    st.saved = withFifo ? state::ContainerStatus::Created : state::ContainerStatus::Running;
    TRY(store.save(st));
    TRY_CTX(writePidFile(o.pidFile, st.pid), "write pid file");
    crashPoint("create:created");
    removeCgroup.dismiss();
    removeState.dismiss();
    out.spec = std::move(sp);
    log::debug("created container ", o.id, " with init pid ", st.pid);
    return out;
}

Status create(const GlobalOptions& g, const CreateOptions& o) {
    auto c = createContainer(g, o, true);
    if (!c) return std::move(c).error();
    return {};
}

}  // namespace berth::runtime
