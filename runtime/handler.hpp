// runtime/handler: the seam for running a prepared container somewhere other than namespaces on
// this kernel (crun's custom handlers are the model). The runtime owns the interface and the
// registry; implementations (vm-shim/) are registered by the CLI, so runtime/ never includes them.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "runtime/runtime.hpp"
#include "runtime/spec/spec.hpp"
#include "runtime/state/state.hpp"

namespace berth::runtime {

// The annotation that selects a handler per container (as crun's run.oci.handler).
constexpr const char* kHandlerAnnotation = "run.oci.handler";

// What the runtime has prepared when it hands a container to a handler: the validated spec,
// the record (saved as "creating"), its state directory (removed on delete) and, for `create`,
// the exec fifo the handler must write one byte to when the workload may start.
struct HandlerRequest {
    const spec::Spec* spec = nullptr;
    const CreateOptions* options = nullptr;
    const state::ContainerState* record = nullptr;
    std::string stateDir;
    std::string fifoPath;  // empty for `run`: start at once
    // process.terminal: where the pty master goes — CreateOptions::consoleSocket, or, when berth
    // relays the terminal itself, this socket (a socketpair end; -1 otherwise).
    int consoleFd = -1;
};

struct HandlerLaunched {
    pid_t pid = 0;      // what `state` reports and liveness is judged by (e.g. the VMM)
    pid_t waitPid = 0;  // our child a foreground `run` waits for; its exit code is the container's
};

class Handler {
public:
    virtual ~Handler() = default;
    virtual const char* name() const = 0;
    // Launch up to "created" (fifo) or "running" (no fifo). On error nothing may be left running.
    virtual Result<HandlerLaunched> launch(const HandlerRequest& req) = 0;
    virtual Status kill(const state::ContainerState& st, const std::string& stateDir, int sig, bool all) = 0;
    // Stop whatever still runs and release the handler's resources; the runtime then removes
    // the state directory.
    virtual Status destroy(const state::ContainerState& st, const std::string& stateDir) = 0;
    // Host pids that make up the container (what `ps` filters on).
    virtual Result<std::vector<pid_t>> processes(const state::ContainerState& st, const std::string& stateDir) = 0;
    // Freeze (pause) or thaw (resume) everything the container runs. Handlers without it refuse.
    virtual Status freeze(const state::ContainerState& st, const std::string& stateDir, bool frozen) {
        (void)stateDir;
        return Error(ENOTSUP, strCat("cannot ", frozen ? "pause" : "resume", " container \"", st.id,
                                     "\": not supported by the \"", name(), "\" handler")).hideErrno();
    }
    // Run another process in the running container with the caller's stdout/stderr (no stdin,
    // no terminal); its exit code. Handlers without exec refuse.
    virtual Result<int> exec(const state::ContainerState& st, const std::string& stateDir, const spec::Process& p) {
        (void)stateDir;
        (void)p;
        return Error(ENOTSUP, strCat("cannot exec in container \"", st.id, "\": not supported by the \"", name(),
                                     "\" handler")).hideErrno();
    }
};

void registerHandler(std::shared_ptr<Handler> h);
// nullptr when no handler of that name is registered.
Handler* findHandler(const std::string& name);
// The handler a new container uses: the annotation wins, then GlobalOptions::handler (set by the
// CLI from argv[0]); empty = the built-in namespaces path. Unknown names are an error.
Result<std::string> handlerFor(const GlobalOptions& g, const spec::Spec& s);

}  // namespace berth::runtime
