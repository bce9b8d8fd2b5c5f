// vm/agent: berth-agent, the guest's /init — boots the guest far enough to find the agent
// channel and the rootfs, then runs one workload for the host and powers the guest off.
#pragma once

#include <map>
#include <poll.h>

#include <string>
#include <vector>

#include "common/error.hpp"
#include "vm/wire/guest_config.hpp"
#include "vm/wire/protocol.hpp"

namespace berth::vm::agent {

// Messages go to the kernel console (the host keeps it in console.log).
void say(const std::string& msg);
[[noreturn]] void powerOff();

// guest_init.cpp: PID 1's duties before any workload.
Status mountEarly();
Status loadModules(const std::string& listFile);
Result<std::string> findAgentPort(int timeoutMs);
std::string kernelParam(const std::string& name);
Status mountRootfs(const std::string& mode);
Status prepareRootfs(const wire::GuestProcess& p);
// guest_net.cpp: lo up, and the NICs as the host's netns has them.
Status configureNetwork(const std::vector<wire::GuestNic>& nics);

// shares.cpp: the spec's bind mounts over 9p, and the module lists loaded only when used.
// sharesDir empty: the 9p shares under /run/berth/shares; else (a pod member) a directory that
// holds the shares' contents already (its directory in the pod share).
Status mountShares(const std::vector<wire::GuestMount>& mounts, const std::string& rootfs, const std::string& sharesDir = "");
Status loadOptionalModules();

// guest_mounts.cpp / guest_sysctl.cpp: the spec's non-bind mounts and linux.sysctl in the guest.
// finishFilesystems: the read-only remounts deferred until the binds are made.
Status mountFilesystems(const wire::GuestProcess& p, const std::string& rootfs);
Status finishFilesystems(const wire::GuestProcess& p, const std::string& rootfs);
Status applySysctls(const std::map<std::string, std::string>& sysctl);
Status applyOomScoreAdj(const runtime::spec::Process& p);  // in the process, before it execs
// guest_keyring.cpp: in the process, before it execs: the container's session keyring (a new one
// for the workload, the workload's for an exec'd process), unless g.keyring is empty.
Status joinGuestKeyring(const wire::GuestProcess& g, bool workload);

// workload.cpp: run the process in the rootfs and relay it over the channel until it exits.
// Returns the exit code (128+N when killed by signal N).
Result<int> runWorkload(int port, wire::proto::Decoder& dec, const wire::GuestProcess& p);
// In a child of PID 1 that closed PID 1's fds (a pod member's supervisor): forget, without
// closing, the fds PID 1's tables held (the sandbox's held mount namespace, its cgroups'
// memory.events). Their numbers are reused by the child's own files: a later reset of the stale
// UniqueFd would close one of those — the member's output pipe, whose relay then read another file.
void forgetInheritedFds();

// containers.cpp: pod members (Member frames), each served by a child of PID 1 that runs
// runWorkload for it; PID 1's workload loop polls their sockets.
inline constexpr const char* kPodDir = "/run/berth/pod";  // the sandbox's 9p pod share
void podSetSandboxWorkload(pid_t pid);
void podFromHost(int port, const wire::proto::Frame& f);
void podPollFds(std::vector<struct pollfd>& fds);
void podOnPoll(int port, const struct pollfd* fds, size_t n);

}  // namespace berth::vm::agent
