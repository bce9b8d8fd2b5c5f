// runtime/container: pieces the lifecycle operations share — building the init's rootfs
// configuration from a spec, the state JSON given to hooks, and tearing a container down.
#pragma once

#include <optional>
#include <string>

#include "cgroups/manager.hpp"
#include "namespaces/mount.hpp"
#include "runtime/foreground.hpp"
#include "runtime/launch/launch.hpp"
#include "runtime/runtime.hpp"
#include "runtime/spec/spec.hpp"
#include "runtime/state/state.hpp"

namespace berth::runtime {

namespaces::RootfsConfig rootfsConfigFor(const spec::Spec& s, const std::string& bundle,
                                         const cgroups::Manager* cg, bool noPivot);
std::string hookStateJson(const state::ContainerState& s, const char* status, pid_t pid);

// Create up to "created" (fifo) or up to "ready and executing" (no fifo, for run). On success
// the caller owns the state directory lock released with `lock`.
struct Created {
    state::ContainerState st;
    spec::Spec spec;
    UniqueFd master;  // the pty master when berth relays the terminal itself
    pid_t waitPid = 0;  // the child a foreground run waits for (the init, or the VM's shim)
};
// relayTerminal: with process.terminal and no --console-socket, berth receives the pty master
// itself (foreground run, as runc) instead of failing.
Result<Created> createContainer(const GlobalOptions& g, const CreateOptions& o, bool withFifo,
                                bool relayTerminal = false);

// The state record a create starts from: identity, bundle, creator, the config as given.
Result<state::ContainerState> newRecord(const CreateOptions& o, const std::string& bundle, const spec::Spec& sp);

// Have the handler stop what is left (the init, the cgroup; the VM), remove the state directory,
// run poststop hooks.
// Best effort past the first step: every step runs, the first error is returned.
Status destroyContainer(const state::Store& store, const state::ContainerState& s);
// Where run --image keeps the bundle of container id (outside its state dir, which create
// makes and locks itself; `list` ignores it: no state.json).
std::string imageBundleDir(const std::string& root, const std::string& id);
// run --image: make the container's bundle from the image; returns its dir.
Result<std::string> prepareImageBundle(const GlobalOptions& g, const RunOptions& o);

Status writePidFile(const std::string& path, pid_t pid);

// "cannot kill container ID: it is not running (stopped)".
Error killNotRunning(const std::string& id);

}  // namespace berth::runtime
