// The handler registry and the create path for handled containers: the same record, lock and
// exec fifo as the namespaces path, but no cgroup or clone here — the handler launches.
#include "runtime/handler.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <map>

#include "common/clock.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "runtime/container.hpp"
#include "runtime/hooks.hpp"

namespace berth::runtime {
namespace {

std::map<std::string, std::shared_ptr<Handler>>& registry() {
    static std::map<std::string, std::shared_ptr<Handler>> r;
    return r;
}

}  // namespace

void registerHandler(std::shared_ptr<Handler> h) {
    std::string name = h->name();
    registry()[name] = std::move(h);
}

Handler* findHandler(const std::string& name) {
    auto it = registry().find(name);
    return it == registry().end() ? nullptr : it->second.get();
}

Result<std::string> handlerFor(const GlobalOptions& g, const spec::Spec& s) {
    std::string name = g.handler;
    auto it = s.annotations.find(kHandlerAnnotation);
    if (it != s.annotations.end()) name = it->second;
    if (name.empty() || name == "linux") return std::string();
    if (!findHandler(name))
        return Error(EINVAL, strCat("config.json: annotation ", kHandlerAnnotation, "=\"", name,
                                    "\": no such handler in this berth")).hideErrno();
    return name;
}

Status refuseForHandler(const state::ContainerState& st, const char* verb) {
    if (st.handler.empty()) return {};
    return Error(ENOTSUP, strCat("cannot ", verb, " container \"", st.id, "\": not supported by the \"",
                                 st.handler, "\" handler")).hideErrno();
}

Result<Created> createWithHandler(const GlobalOptions& g, const CreateOptions& o, const std::string& bundle,
                                  spec::Spec sp, const std::string& name, bool withFifo,
                                  std::optional<RelaySocket>& relay) {
    Handler* h = findHandler(name);
    // createContainer and startContainer run in the container's namespaces — inside the guest for
    // the VM path, where the hook's program (a path in the runtime's namespace) does not exist.
    for (auto [hooks, phase] : {std::pair{&sp.hooks.createContainer, "createContainer"},
                                std::pair{&sp.hooks.startContainer, "startContainer"}})
        if (!hooks->empty())
            return Error(ENOTSUP, strCat("config.json: hooks.", phase, ": not supported by the \"", name,
                                         "\" handler (they would run inside its isolation)")).hideErrno();
    state::Store store(g.root);
    ASSIGN_OR_RETURN(state::Lock lock, store.createAndLock(o.id));
    ScopeGuard removeState([&] { (void)store.remove(o.id); });
    Created out;
    state::ContainerState& st = out.st;
    ASSIGN_OR_RETURN(st, newRecord(o, bundle, sp));
    st.handler = name;
    TRY(store.save(st));  // a crash from here on leaves enough for `delete --force`

    HandlerRequest req{&sp, &o, &st, store.dir(o.id), "", relay ? relay->theirs.get() : -1};
    if (withFifo) {
        req.fifoPath = store.fifoPath(o.id);
        if (::mkfifo(req.fifoPath.c_str(), 0622) < 0) return Error::fromErrno("create exec fifo ", req.fifoPath);
    }
    ASSIGN_OR_RETURN(HandlerLaunched l, h->launch(req));
    ScopeGuard undoLaunch([&] { (void)h->destroy(st, store.dir(o.id)); });
    st.pid = l.pid;
    st.pidStartTime = state::processStartTime(l.pid);
    // prestart and createRuntime run in the runtime's namespace once the container exists and
    // before create returns, as for a native container; a failing one fails the create.
    TRY(hooks::run(sp.hooks.prestart, hookStateJson(st, "creating", st.pid), "prestart"));
    TRY(hooks::run(sp.hooks.createRuntime, hookStateJson(st, "creating", st.pid), "createRuntime"));
    if (relay) {
        ASSIGN_OR_RETURN(out.master, receiveMaster(*relay));
    }
    st.saved = withFifo ? state::ContainerStatus::Created : state::ContainerStatus::Running;
    TRY(store.save(st));
    TRY_CTX(writePidFile(o.pidFile, st.pid), "write pid file");
    undoLaunch.dismiss();
    removeState.dismiss();
    out.waitPid = l.waitPid;
    out.spec = std::move(sp);
    log::debug("created container ", o.id, " with handler ", name, ", pid ", st.pid);
    return out;
}

}  // namespace berth::runtime
