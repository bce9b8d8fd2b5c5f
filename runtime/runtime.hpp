// runtime: the OCI lifecycle operations the CLI calls — one function per verb, each taking an
// options struct and returning Result. Implemented one file per operation in runtime/.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "runtime/state/state.hpp"

namespace berth::runtime {

struct GlobalOptions {
    std::string root = "/run/berth";
    std::string store;  // image store (--store; empty: $BERTH_STORE or /var/lib/berth)
    bool systemdCgroup = false;
    // Rootless mode (runc's --rootless, resolved from auto|true|false by resolveRootless): no
    // cgroup where the user may not make one; the state root defaults under $XDG_RUNTIME_DIR.
    bool rootless = false;
    // Default handler for new containers (runtime/handler.hpp); "vm" when invoked as berth-vm.
    std::string handler;
};

struct CreateOptions {
    std::string id;
    std::string bundle = ".";
    std::string consoleSocket;
    std::string pidFile;
    bool noPivot = false;
    bool noNewKeyring = false;  // keep the caller's session keyring (runc's --no-new-keyring)
    int preserveFds = 0;
    std::string imageBundle;  // set by run --image: recorded so delete removes the bundle
};

struct RunOptions {
    CreateOptions create;
    std::string image;              // --image: make a bundle from it under the state root
    std::vector<std::string> args;  // with --image: replace the image's Cmd
    bool detach = false;
    bool keep = false;
    bool noSubreaper = false;
};

struct KillOptions {
    std::string id;
    std::string signal = "SIGTERM";
    bool all = false;
};

struct DeleteOptions {
    std::string id;
    bool force = false;
};

struct ExecOptions {
    std::string id;
    std::string processFile;          // --process
    std::vector<std::string> args;    // command and arguments
    bool tty = false;
    bool detach = false;
    std::string pidFile;
    std::string consoleSocket;
    std::vector<std::string> env;     // -e KEY=VALUE
    std::string cwd;
    std::string user;                 // uid[:gid]
    std::vector<std::string> caps;    // --cap CAP_X
    std::vector<uint32_t> additionalGids;
    bool noNewPrivs = false;
    std::string apparmor;
    int preserveFds = 0;
    // --cgroup [CTRL[,CTRL...]:]PATH: join these existing sub-cgroups (cgroups/sub_cgroup.hpp).
    std::vector<std::string> subCgroups;
    // --ignore-paused: exec into a paused container too (the process stays frozen until resume).
    bool ignorePaused = false;
};

// runc update: --resources FILE|- (a linux.resources object), or the individual flags; a value
// left unset (or 0, as with runc) keeps the container's current one.
struct UpdateOptions {
    std::string id;
    std::string resourcesFile;  // "-" = stdin
    std::optional<int64_t> blkioWeight, cpuPeriod, cpuQuota, cpuShares, cpuRtPeriod, cpuRtRuntime,
        cpuIdle, memory, memoryReservation, memorySwap, kernelMemory, kernelMemoryTcp, pidsLimit;
    std::optional<std::string> cpusetCpus, cpusetMems, l3CacheSchema, memBwSchema;
};

struct EventsOptions {
    std::string id;
    bool stats = false;                                  // one stats event, then return
    std::chrono::nanoseconds interval = std::chrono::seconds(5);
};

Status create(const GlobalOptions& g, const CreateOptions& o);
Status start(const GlobalOptions& g, const std::string& id);
// Foreground: the container's exit status (128+N when killed by signal N). Detached: 0.
Result<int> run(const GlobalOptions& g, const RunOptions& o);
// Freeze / thaw every process of a running container (v1 freezer); status becomes "paused".
Status pause(const GlobalOptions& g, const std::string& id);
Status resume(const GlobalOptions& g, const std::string& id);
Result<nlohmann::json> queryState(const GlobalOptions& g, const std::string& id);
Status kill(const GlobalOptions& g, const KillOptions& o);
Status remove(const GlobalOptions& g, const DeleteOptions& o);
// A container under --root as `list` shows it: its record (without the cgroup paths), its live
// status, and the user owning its state directory (runc's OWNER).
struct ListedContainer {
    state::ContainerState st;
    state::ContainerStatus live;
    std::string owner;
};
// Every container under --root, by id. state::publicJson(st, live) with "owner" set is runc's
// `list -f json` object.
Result<std::vector<ListedContainer>> list(const GlobalOptions& g);
Result<std::vector<pid_t>> processes(const GlobalOptions& g, const std::string& id);
// runc's `ps` table: the output of `ps ARGS` (default -ef) keeping the header and the lines whose
// PID column is a process of the container.
Result<std::string> processTable(const GlobalOptions& g, const std::string& id,
                                 const std::vector<std::string>& psArgs);
Result<int> exec(const GlobalOptions& g, const ExecOptions& o);
// Change the resource limits of a created, running or paused container, live.
Status update(const GlobalOptions& g, const UpdateOptions& o);
// runc events: {"type":"stats","id":..,"data":..} every interval and {"type":"oom","id":..} on
// each OOM kill, passed to emit, until the container stops; with stats=true one stats event.
Status events(const GlobalOptions& g, const EventsOptions& o,
              const std::function<void(const nlohmann::json&)>& emit);

// Write the default config.json into bundleDir (refuses to overwrite, as runc).
Status writeDefaultSpec(const std::string& bundleDir, bool rootless);
// The runtime-spec "features" document, listing only what berth implements.
nlohmann::json features();

struct BundleOptions {
    std::string image;
    std::string dir;
    std::vector<std::string> args;
    // No Entrypoint/Cmd and no args: keep the default spec's command, with a warning (berth
    // bundle, as umoci); run --image refuses instead.
    bool defaultCommandIfNone = false;
};
// An OCI bundle from an image: DIR/config.json (the default spec plus the image config) and
// DIR/rootfs an overlay of the image's shared layers with a private upper dir.
Status createBundle(const GlobalOptions& g, const BundleOptions& o);
// Unmount and remove a bundle createBundle made.
Status removeBundle(const std::string& dir);

// --rootless: "true", "false", or "auto" — rootless when not root, or when root of a user
// namespace other than the host's (runc's rule).
Result<bool> resolveRootless(const std::string& value);
// The default --root: /run/berth, or $XDG_RUNTIME_DIR/berth for an unprivileged user or root of
// a user namespace whose $USER is not root (as runc).
std::string defaultStateRoot();

// "SIGKILL", "KILL", "9" → 9.
Result<int> parseSignal(const std::string& s);

}  // namespace berth::runtime
