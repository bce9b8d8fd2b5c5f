// vm/wire/guest_mounts: the spec's mounts that are not host directories — /dev, tmpfs, mqueue,
// devpts, sysfs, and the /dev/shm that podman and containerd bind from a host tmpfs —
// as filesystems the guest mounts itself, and linux.sysctl keys as /proc/sys paths. Pure
// planning; the guest side is agent/guest_mounts.cpp and agent/guest_sysctl.cpp.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "runtime/spec/spec.hpp"

namespace berth::vm::wire {

// One filesystem the agent mounts in the rootfs, in spec order, with the spec's OCI options
// (the agent parses them with namespaces::parseMountOptions, as the native path does).
struct GuestFsMount {
    std::string destination;  // clean and absolute, inside the rootfs
    std::string type;         // tmpfs, mqueue, devpts, sysfs, cgroup2, ...
    std::string source;
    std::vector<std::string> options;
    size_t index = 0;  // in the spec's mounts, for errors ("mounts[3] /dev/mqueue ...")
    bool operator==(const GuestFsMount&) const = default;
};

// The spec's mounts the guest makes as filesystems of its own kernel, with berth's mount plan
// (namespaces/mount_plan, as the native path: a /dev tmpfs gets the default devices, linux.devices
// and the /dev links). Left out: binds (9p shares, vm/wire/shares) except one onto /dev/shm,
// which becomes a guest tmpfs of the host tmpfs's size (shared memory through 9p would not be
// shared), proc (the guest mounts the workload's PID namespace's own) and cgroup/cgroup2 (the
// agent mounts the container's cgroup in the guest). A relative bind source is relative to the
// bundle.
Result<std::vector<GuestFsMount>> planGuestFsMounts(const std::vector<runtime::spec::Mount>& mounts,
                                                    const std::string& bundle = "/");
// A bind the guest could not make because the source is a file and its destination in the
// bundle's rootfs a directory (or the other way round): refused before anything is made, naming
// the source and the destination, as the native path does. Destinations the guest provides
// itself (/proc, /sys, /dev) and a symlink as the last component (the guest replaces it) are
// not checked; the rest of the path is resolved inside the rootfs.
Status checkBindDestinations(const std::vector<runtime::spec::Mount>& mounts, const std::string& bundle,
                             const std::string& rootfs);
bool hasFsMount(const std::vector<GuestFsMount>& mounts, const std::string& destination);

nlohmann::json toJson(const std::vector<GuestFsMount>& mounts);
Result<std::vector<GuestFsMount>> guestFsMountsFromJson(const nlohmann::json& j);
// linux.devices, made in the guest's /dev tmpfs as on the native path.
nlohmann::json toJson(const std::vector<runtime::spec::Device>& devices);
Result<std::vector<runtime::spec::Device>> guestDevicesFromJson(const nlohmann::json& j);

// "net.ipv4.ip_forward" → "net/ipv4/ip_forward"; a key written with '/' separators (sysctl(8)'s
// other form, "net/ipv4/conf/eth0.100/forwarding") keeps its dots. Empty, "." and ".."
// components are refused: the path stays under /proc/sys.
Result<std::string> sysctlPath(const std::string& key);

}  // namespace berth::vm::wire
