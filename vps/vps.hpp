// vps: what the CLI asks of VPS slicing — one function per `berth vps` verb over a Context
// (the runtime's global options plus where VPS configs and data live). A VPS is a preset of
// the OCI spec run through the runtime library, never a second runtime.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/unique_fd.hpp"
#include "runtime/runtime.hpp"
#include "vps/config.hpp"
#include "vps/store.hpp"

namespace berth::vps {

struct Context {
    runtime::GlobalOptions global;
    Paths paths;
    std::string cgroupRoot = "/sys/fs/cgroup";
};

// The create/set flags as given (strings: the library parses vzctl's units). A list that is
// set replaces the stored one.
struct Changes {
    std::optional<std::string> ram, swap, diskspace, diskinodes;  // sizes, or "unlimited"
    std::optional<std::string> cpus, cpulimit, pids;             // numbers; "0"/"unlimited" = unset
    std::optional<int> cpuunits, ioweight;
    std::optional<std::string> hostname;
    std::optional<bool> onboot;
    std::optional<std::vector<std::string>> ips, nameservers, searchdomains, userpasswd;
    // set only: vzctl's --ipadd/--ipdel (ADDR/PREFIX; ADDR or "all" to delete), applied after --ip;
    // --gateway "auto" clears the VPS's own gateways (the host's apply).
    std::optional<std::vector<std::string>> ipadd, ipdel, gateways;
};

// Apply changes to a config (validated); the names of the fields that changed.
Result<std::vector<std::string>> applyChanges(Config& c, const Changes& ch);

struct CreateRequest {
    std::string name;
    std::string templateImage;
    Changes settings;
};
Status create(const Context& ctx, const CreateRequest& r);

struct SetReport {
    std::vector<std::string> live;       // applied to the running VPS now
    std::vector<std::string> nextStart;  // stored; take effect at the next start
    std::vector<std::string> pending;    // stored; applied once that part of berth lands
};
Result<SetReport> set(const Context& ctx, const std::string& name, const Changes& ch);

// Returns once the VPS's init runs.
Status start(const Context& ctx, const std::string& name);
// Run by a VPS's console holder when the init it is the parent of has ended (`how`: reboot,
// poweroff, exit:N, signal:N; see vps/console_holder.hpp): unless `stop`, `restart` or
// `destroy` already took care of it, the VPS's host-side state is taken down at once, and a
// VPS rebooted from inside is started again, as vzctl and LXC do.
Status initExited(const Context& ctx, const std::string& name, pid_t pid, const std::string& how);
// Every VPS marked onboot that is not running; the names started. Tries all, then reports the
// first failure (naming the VPS).
Result<std::vector<std::string>> startOnboot(const Context& ctx);

struct StopOptions {
    std::chrono::milliseconds timeout = std::chrono::seconds(60);
    bool fast = false;
};
struct StopResult {
    bool wasRunning = false;
    bool graceful = false;  // the init exited on its shutdown signal within the timeout
};
Result<StopResult> stop(const Context& ctx, const std::string& name, const StopOptions& o);
Status restart(const Context& ctx, const std::string& name, const StopOptions& o);
Status suspend(const Context& ctx, const std::string& name);
Status resume(const Context& ctx, const std::string& name);
Status destroy(const Context& ctx, const std::string& name, bool force);

// exec: the command's exit status; enter: a root login shell (with a pty when stdin is one).
Result<int> exec(const Context& ctx, const std::string& name, const std::vector<std::string>& args, bool tty);
Result<int> enter(const Context& ctx, const std::string& name);

// console: attach to a running VPS's /dev/console through its console holder (vps/console).
struct ConsoleAttach {
    UniqueFd sock;          // to the holder; live output arrives here
    UniqueFd log, oldLog;   // the console log (and its rotated part) to replay first
    uint64_t logSize = 0, oldLogSize = 0;
};
// One line when the VPS is not running, its holder is gone, or another client is attached.
Result<ConsoleAttach> openConsole(const Context& ctx, const std::string& name);
enum class ConsoleEnd { Detached, Closed };  // Ctrl-] or end of stdin; the VPS stopped
// Replay the log to stdout, then relay stdin (raw when a terminal) and the console's output.
Result<ConsoleEnd> relayConsole(ConsoleAttach& a);

struct VpsStatus {
    std::string name, state;  // running, paused, stopped
    pid_t pid = 0;
    int nproc = 0;
    std::vector<std::string> ips;
    std::string hostname, templateName;
    std::optional<int64_t> ramUsed, ramLimit;
    bool onboot = false;
    // Its rootfs is mounted on the host: while it runs, and after an init that exited on its own
    // (poweroff inside, a crash) until the next start, stop or destroy takes the leftovers down.
    bool mounted = false;
};
Result<VpsStatus> status(const Context& ctx, const std::string& name);
// Every VPS (all = with stopped ones), sorted by name.
Result<std::vector<VpsStatus>> list(const Context& ctx, bool all);

// vzlist-style output: the columns (names in kListColumns), a header line, one line per VPS.
inline constexpr const char* kDefaultColumns = "name,state,nproc,ip,hostname,ramused,ramlimit";
Result<std::string> formatTable(const std::vector<VpsStatus>& rows, const std::string& columns);
nlohmann::json toJson(const VpsStatus& s);

}  // namespace berth::vps
