// vm/wire/guest_config: what the host tells the agent about a process (the Config and ExecStart
// frames) — the OCI process itself, which the guest parses and applies with berth's own
// process library (runtime/spec, runtime/security, runtime/process/exec_process), the seccomp
// profile, and what the guest does to the rootfs — as JSON both sides parse.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "runtime/spec/spec.hpp"
#include "vm/wire/guest_mounts.hpp"
#include "vm/wire/shares.hpp"

namespace berth::vm::wire {

// A NIC the guest configures as its twin on the host side is (the netns's veth, whose traffic
// the host mirrors to the VM's tap): the same name, MAC, MTU, addresses and routes.
struct GuestRoute {
    std::string dst;      // "default", "10.1.0.0/16", "fd00::/64", "10.1.2.3" (a host)
    std::string gateway;  // empty: on the link
    bool operator==(const GuestRoute&) const = default;
};
struct GuestNic {
    std::string name;  // eth0
    std::string mac;   // 0a:58:0a:58:00:05
    int mtu = 1500;
    std::vector<std::string> addresses;  // "10.88.0.5/16", "fd00::5/64"
    std::vector<GuestRoute> routes;
};

struct GuestProcess {
    runtime::spec::Process process;   // terminal and consoleSize included
    nlohmann::json seccomp;  // linux.seccomp; null when none
    // The workload's only (an exec'd process joins what the workload has):
    std::string hostname;
    // linux.maskedPaths / readonlyPaths, applied in the workload's mount namespace by berth's
    // namespaces library (exec'd processes join that namespace).
    std::vector<std::string> maskedPaths, readonlyPaths;
    bool readonlyRoot = false;
    // mkfs.ext4 adds lost+found; the guest removes it when the bundle's rootfs had none.
    bool dropLostFound = false;
    std::vector<GuestNic> nics;  // configured before the workload starts; lo is always up
    // The spec's bind mounts, from the 9p shares (vm/wire/shares).
    std::vector<GuestMount> mounts;
    // The spec's other mounts (/dev, tmpfs, mqueue, devpts, sysfs, /dev/shm), made by the
    // guest kernel (vm/wire/guest_mounts), and linux.sysctl, written in the guest's /proc/sys.
    std::vector<GuestFsMount> filesystems;
    std::vector<runtime::spec::Device> devices;  // linux.devices
    std::map<std::string, std::string> sysctl;
    // The limits of the container's cgroup in the guest (linux.resources as the guest applies
    // them: vm/wire/guest_ops.hpp guestResources); null: none.
    nlohmann::json resources;
    // A pod member: its directory in the sandbox's pod share (the rootfs at <member>/rootfs, its
    // binds' sources at <member>/<tag>); empty for the VM's own container.
    std::string member;
    // A member whose spec names its PID namespace by path (CRI's shareProcessNamespace): it
    // joins the sandbox's PID namespace instead of being PID 1 of its own.
    bool sandboxPidNs = false;
    // The session keyring the process joins, named _ses.<this> (runtime/security/keyring.cpp):
    // the container's id — a new one for the workload, the workload's for an exec'd process, as
    // runc makes and joins it — or empty: keep the agent's (create --no-new-keyring).
    std::string keyring;
};

std::string toJson(const GuestProcess& p);
Result<GuestProcess> guestProcessFromJson(const std::string& text);

}  // namespace berth::vm::wire
