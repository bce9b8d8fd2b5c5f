// runtime/handler: the seam between a lifecycle operation and where a container runs — in
// namespaces on this kernel (runtime/namespaces_handler.cpp) or in a micro-VM (vm/). Each
// operation (create.cpp, kill.cpp, ...) is written once and calls its container's Handler;
// crun's custom handlers are the model. The CLI registers the VM one, so runtime/ never
// includes vm/.
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cgroups/stats.hpp"
#include "common/error.hpp"
#include "runtime/foreground.hpp"
#include "runtime/runtime.hpp"
#include "runtime/spec/spec.hpp"
#include "runtime/state/state.hpp"

namespace berth::cgroups {
class OomNotifier;
}

namespace berth::runtime {

// The annotation that selects a handler per container (as crun's run.oci.handler).
constexpr const char* kHandlerAnnotation = "run.oci.handler";

// What create has prepared when it hands a container to its handler: the validated spec, the
// record (saved as "creating"; the handler may add to it and save it again), its state
// directory (removed on delete) and, for `create`, the exec fifo the handler's workload must
// write one byte to when it may start.
struct HandlerRequest {
    const spec::Spec* spec = nullptr;
    const GlobalOptions* global = nullptr;
    const CreateOptions* options = nullptr;
    state::ContainerState* record = nullptr;
    std::string bundle;    // absolute
    std::string stateDir;
    std::string fifoPath;  // empty for `run`: start at once
    // process.terminal: where the pty master goes — CreateOptions::consoleSocket, or, when berth
    // relays the terminal itself, this socket (a socketpair end; -1 otherwise).
    int consoleFd = -1;
    std::function<Status()> save;  // write *record
    // The state JSON the hooks get for *record with the given pid and status.
    std::function<std::string(pid_t, const char*)> stateJson;
};

// launch records the container's pid (what `state` reports and liveness is judged by, e.g.
// the VMM's shim) and its start time in *req.record.
struct HandlerLaunched {
    pid_t waitPid = 0;  // our child a foreground `run` waits for; its exit code is the container's
};

// The container an operation acts on: its record, state directory and status as of now.
struct HandledContainer {
    const state::ContainerState& st;
    std::string stateDir;
    state::ContainerStatus live;
};

// exec's process, built from --process or the container's own (runtime/exec.cpp), and, for a
// foreground terminal without --console-socket, the socket its pty master comes back on.
struct ExecRequest {
    const ExecOptions* options = nullptr;
    spec::Process* process = nullptr;
    RelaySocket* relay = nullptr;
};

// What `events` reads of a live container: its usage now, and its OOM kills as they happen.
class Monitor {
public:
    virtual ~Monitor() = default;
    virtual Result<cgroups::Stats> stats() const = 0;
    // nullptr: no OOM events to wait for (stats still stream).
    virtual std::unique_ptr<cgroups::OomNotifier> oomNotifier() const = 0;
};

// `ps` of a container whose processes are not on this kernel (a VM's guest): the table in
// `ps -ef`'s format and the pids, both as the container's PID namespace numbers them.
struct OwnProcessTable {
    std::string table;
    std::vector<pid_t> pids;
};

class Handler {
public:
    virtual ~Handler() = default;
    // "" for the built-in namespaces handler (what state.json records for it).
    virtual const char* name() const = 0;
    // Before anything is made: refuse what this handler cannot run, warn about what it ignores.
    virtual Status check(const spec::Spec& s) {
        (void)s;
        return {};
    }
    // Launch up to "created" (fifo) or "running" (no fifo); prestart and createRuntime hooks run
    // in the runtime's namespaces once the container exists. On error nothing may be left
    // running (the record and state directory are create's to remove).
    virtual Result<HandlerLaunched> launch(const HandlerRequest& req) = 0;
    // c.live is created, running or paused — or stopped with all: signal whatever is left.
    virtual Status kill(const HandledContainer& c, int sig, bool all) = 0;
    // Stop whatever still runs and release the handler's resources; delete then removes the
    // record and the state directory.
    virtual Status destroy(const HandledContainer& c) = 0;
    // Host pids that make up a live container (what `ps` filters on).
    virtual Result<std::vector<pid_t>> processes(const HandledContainer& c) = 0;
    // nullopt: the processes are on this kernel (processes() and the host's ps); else the
    // handler's own table (psArgs: what follows the id on ps's command line).
    virtual Result<std::optional<OwnProcessTable>> ownProcessTable(const HandledContainer& c,
                                                                   const std::vector<std::string>& psArgs) {
        (void)c;
        (void)psArgs;
        return std::optional<OwnProcessTable>();
    }
    // What a handler lacks answers "not supported by this handler" (unsupported() below).
    // Freeze (pause) or thaw (resume) everything the container runs.
    virtual Status freeze(const HandledContainer& c, bool frozen) {
        return unsupported(frozen ? "pause" : "resume", c);
    }
    // Run another process in the container: its exit code, or 0 once started with --detach.
    virtual Result<int> exec(const HandledContainer& c, const ExecRequest& r) {
        (void)r;
        return unsupported("exec in", c);
    }
    // Apply a linux.resources document to the live container (update records it).
    virtual Status update(const HandledContainer& c, const nlohmann::json& resources) {
        (void)resources;
        return unsupported("update", c);
    }
    virtual Result<std::unique_ptr<Monitor>> monitor(const HandledContainer& c) {
        return unsupported("watch events of", c);
    }

protected:
    // The one refusal: `cannot VERB container "ID": not supported by the "NAME" handler`.
    Error unsupported(const char* verb, const HandledContainer& c) const;
};

void registerHandler(std::shared_ptr<Handler> h);
// nullptr when no handler of that name is registered; "" (and "linux") is the namespaces one.
Handler* findHandler(const std::string& name);
// The handler a new container uses: the annotation wins, then GlobalOptions::handler (set by the
// CLI from argv[0]); empty = the built-in namespaces path. Unknown names are an error.
Result<std::string> handlerFor(const GlobalOptions& g, const spec::Spec& s);
// The handler of a recorded container; an error when this berth has no such handler.
Result<Handler*> handlerOf(const state::ContainerState& st);

// The built-in handler: the container's init cloned into namespaces on this kernel.
Handler& namespacesHandler();

// The common tail of exec once the handler has started `pid` (our child) with signals blocked:
// the pty master back over r.relay, the pid file, then (without --detach) wait for it.
Result<int> superviseExec(pid_t pid, const ExecRequest& r);

}  // namespace berth::runtime
