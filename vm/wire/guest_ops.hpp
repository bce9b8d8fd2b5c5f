// vm/wire/guest_ops: `ps`, `update` and `events` of a container in the guest — the request and
// reply payloads of the ops frames (PsRequest .. OpsReply), the ps rows the agent reads from the
// guest's /proc and the `ps -ef` table the host prints, and the limits the guest's cgroup takes.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "vm/wire/protocol.hpp"

namespace berth::vm::wire {

// A request: 4-byte LE id + JSON object {"container": id, ...}; a reply: the same id + JSON
// object, {"error": "one line"} when the agent refused.
std::string opsPayload(int32_t id, const nlohmann::json& body);
Result<std::pair<int32_t, nlohmann::json>> parseOpsPayload(const proto::Frame& f);
// The reply's error as an Error (EINVAL, the agent's line), or the body.
Result<nlohmann::json> opsReplyBody(const nlohmann::json& reply);

// One process of the container as `ps -ef` shows it, with pids as seen in the container's PID
// namespace (0 for a parent outside it).
struct PsRow {
    pid_t pid = 0, ppid = 0;
    uint32_t uid = 0;
    std::string user;   // from the container's /etc/passwd; empty: print the uid
    std::string tty;    // "?" without one, "pts/0"
    uint64_t ageSec = 0;  // since it started (the host's clock gives STIME: the guest's may differ)
    uint64_t cpuSec = 0;  // user + system time
    unsigned cpuPercent = 0;  // ps's C: cpu time over lifetime, percent, at most 99
    std::string cmd;    // the command line, or [comm] when it has none
};
nlohmann::json psRowsToJson(const std::vector<PsRow>& rows);
Result<std::vector<PsRow>> psRowsFromJson(const nlohmann::json& j);
// procps's `ps -ef`: "UID PID PPID C STIME TTY TIME CMD", STIME as HH:MM today, MonDD before.
std::string psTable(const std::vector<PsRow>& rows, time_t now);

// The container's /proc as its own procfs shows it — pids in its PID namespace — for the host's
// FUSE copy of it (vm/proc_view.hpp: what `podman top` reads). A PsRequest with "view": "proc"
// is answered {"proc": procSnapshotToJson(...)}.
struct ProcFiles {
    pid_t pid = 0;
    std::string stat, status, cmdline;  // the files' bytes (invalid UTF-8 arrives as U+FFFD)
};
struct ProcSnapshot {
    uint64_t btime = 0;   // /proc/stat's btime (the guest's boot, seconds since the epoch)
    std::string pidNs;    // its ns/pid link, "pid:[N]"
    std::vector<ProcFiles> procs;  // from procSnapshotFromJson: sorted by pid, each once, at most 4096
};
nlohmann::json procSnapshotToJson(const ProcSnapshot& s);
Result<ProcSnapshot> procSnapshotFromJson(const nlohmann::json& j);
// /proc/stat's btime (0 when absent).
uint64_t btimeOf(const std::string& procStat);

// The pure part of reading the guest's /proc.
struct ProcStat {
    std::string comm;
    pid_t ppid = 0;
    int ttyNr = 0;
    uint64_t utime = 0, stime = 0, startTime = 0;  // clock ticks
};
Result<ProcStat> parseProcStat(const std::string& text);  // /proc/PID/stat
// The pid in the innermost PID namespace ("NSpid:" of /proc/PID/status; -1 if absent) and the
// real uid ("Uid:").
pid_t innermostPid(const std::string& status);
uint32_t realUid(const std::string& status);
std::string ttyName(int ttyNr);                                   // "?", "pts/3", "tty1"
std::string commandLine(const std::string& raw, const std::string& comm);  // NULs → spaces
std::string userFromPasswd(const std::string& passwd, uint32_t uid);    // "" when not listed

// linux.resources as the guest applies them at create: memory, cpu (without cpus/mems: the
// VM's vCPU count stands for them, and the guest's CPUs are numbered 0..n-1 — but see
// guestCpusetThatFits), pids, unified and the device rules (the spec's; the agent adds runc's
// defaults, agent::withGuestDeviceRules, and its cgroup2 applies them as an eBPF program). An update takes cpus/mems as given (the guest refuses CPUs it lacks) and never the
// device rules (runc's update does not change them either).
nlohmann::json guestResources(const nlohmann::json& resources, bool atCreate);
// cpus/mems of linux.resources.cpu that the guest honours as given at create ({"cpu": {...}},
// or an empty object): each kept when every CPU (memory node) it names is one the guest has
// (guestCpus / guestMems: its root cgroup's cpuset.cpus.effective / cpuset.mems.effective), as a
// pod VM's single vCPU and node 0 for a container pinned to CPU 0 and node 0; else dropped: the
// VM's vCPU count stood for it at boot.
nlohmann::json guestCpusetThatFits(const nlohmann::json& resources, const std::string& guestCpus,
                                   const std::string& guestMems);
// The largest memory limit the guest can honour: what its RAM was sized for at boot
// (boot_config's resourcesFor less kGuestOverheadMiB), in bytes.
uint64_t guestMemoryCeiling(const nlohmann::json& bootResources);
// update's memory.limit against that ceiling: an error line naming both, or ok.
Status checkMemoryLimit(const nlohmann::json& resources, uint64_t ceiling);

}  // namespace berth::vm::wire
