// vm/network: the VM's NICs wired into the container's network namespace (Kata's "tcfilter"
// model) — a tap per interface the netns already has, tc mirred redirects both ways between the
// two, and what the guest must configure to be that interface (MAC, addresses, routes, MTU).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/unique_fd.hpp"
#include "runtime/spec/spec.hpp"
#include "vm/wire/guest_config.hpp"

namespace berth::vm {

// The interfaces of a netns worth mirroring, from `ip -j addr show` and `ip -j route show` (v4
// and v6 lists, in one array): ethernet links with a global address, each with its global
// addresses and the routes through it that the kernel did not make itself.
Result<std::vector<wire::GuestNic>> nicsFromIp(const nlohmann::json& addrs, const nlohmann::json& routes);

// The tap mirroring the i-th NIC.
std::string tapName(size_t i);

struct NetWiring {
    std::vector<wire::GuestNic> nics;  // for the guest config
    std::vector<UniqueFd> taps;  // one per NIC, for QEMU
    std::string warning;         // why the VM gets no NIC (host network, an empty netns)
};

// The spec's network namespace path, when it names one, is a network namespace: checked before
// anything is made.
Status checkNetwork(const runtime::spec::Spec& s);

// For the spec's network namespace: nothing (and a warning) without a path or without an
// interface to mirror; else the taps, the tc filters, and <stateDir>/net.json recording what was
// made. On error nothing made is left.
Result<NetWiring> wireNetwork(const runtime::spec::Spec& s, const std::string& stateDir);
// Whether the netns file at `path` is the host's: berth's own or PID 1's network namespace. A
// spec can name it by path — containerd gives a hostNetwork pod's containers
// /proc/<sandbox pid>/ns/net, and the sandbox's pid is a VM's shim, in the host's namespace —
// and mirroring it would redirect the host's own interfaces into the VM.
bool isHostNetns(const std::string& path);

// Remove what wireNetwork made (from <stateDir>/net.json); a netns already gone is fine.
void unwireNetwork(const std::string& stateDir);

}  // namespace berth::vm
