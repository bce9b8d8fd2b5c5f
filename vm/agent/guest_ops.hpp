// vm/agent/guest_ops: the container's cgroup in the guest (cgroup2, berth's own v2 manager, one
// cgroup per container holding its workload and execs, with the spec's limits) and the answers
// to the host's ps, stats and update requests (vm/wire/guest_ops.hpp).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "runtime/spec/spec.hpp"
#include "vm/wire/protocol.hpp"

namespace berth::vm::agent {

// At Config: cgroup2 at /sys/fs/cgroup in the guest, the container's cgroup with the limits of
// linux.resources (as wire::guestResources keeps them at create).
// id: the container's id in a VM of several; "" (the default) is the VM's one container, which
// answers to any id the host asks about.
Status setupGuestCgroup(const nlohmann::json& resources, const std::string& id = "");
// `resources` with the device rules the namespaces path applies (cgroups::withDefaultDeviceRules):
// a deny-all, the spec's rules, runc's defaults for the nodes the guest makes unless
// linux.devices (`devices`) makes that node itself.
nlohmann::json withGuestDeviceRules(const nlohmann::json& resources, const std::vector<runtime::spec::Device>& devices);
// In a pod member's supervisor (a child of PID 1): the member's own cgroup berth/<id> with its
// limits; it becomes the one container of this process's table (so the workload, its execs and
// the ps/stats/update requests its supervisor answers use it); its memory ceiling is the VM's.
Status setupMemberCgroup(const nlohmann::json& resources, const std::string& id);
// The supervisor's last step: its member's cgroup goes (what is left in it is killed).
void removeGuestCgroups();
// In a child that closed PID 1's fds: drop the table's fds without closing them (forgetInheritedFds).
void forgetGuestCgroupFds();
// In a process's child before it joins the workload's namespaces: into the container's cgroup,
// and into a cgroup namespace rooted there (the workload: a new one; workload > 0: its one).
// placed: the process was cloned into the cgroup (CLONE_INTO_CGROUP), only the namespace is left.
Status enterContainerCgroup(pid_t workload, const std::string& id = "", bool placed = false);
// The container's cgroup directory (O_PATH) for clone3's CLONE_INTO_CGROUP, or -1 (none). Cloning
// into it spares the workload a migration (a write to cgroup.procs waits for an RCU grace period:
// 12–20 ms of a TCG start, bench/README.md).
int openContainerCgroup(const std::string& id = "");
// In the workload's own mount namespace, before the chroot: its cgroup (cgroupns root) read-only
// at /sys/fs/cgroup of the rootfs, as a container on a cgroup2 host sees it.
Status mountContainerCgroup(const std::string& rootfs = "/rootfs");
// guest_ps.cpp: the ps rows of these guest pids ({"processes": [...]}, wire::psRowsToJson).
Result<nlohmann::json> guestPs(const std::vector<pid_t>& pids);
// guest_ps.cpp: the container's /proc ({"proc": wire::procSnapshotToJson}), read through the
// first of these guest pids that has one.
Result<nlohmann::json> guestProcView(const std::vector<pid_t>& pids);
// When a process of the container has exited, and before its Exit frame: an Oom frame with the
// guest OOM kills of its cgroup (memory.events oom_kill) not told to the host yet, if any — the
// host raises them where containerd and conmon watch (vm/host_oom.hpp). A workload that is itself
// OOM-killed is reported so; the ops poll would miss it (the container is gone before it asks).
void reportOomKills(int port);
// memory.events of the container's cgroup (-1 without one): the kernel marks it POLLPRI when an
// event count changes, so an OOM kill of a process the agent does not reap is told at once.
int oomEventsFd();
// Answer a PsRequest, StatsRequest or UpdateRequest frame with one OpsReply.
void answerOps(int port, const wire::proto::Frame& f);

}  // namespace berth::vm::agent
