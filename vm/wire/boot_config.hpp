// vm/wire/boot_config: the pure decisions of a VM boot, as data for unit tests — OCI resources
// to guest RAM and vCPUs, the kernel command line, and the QEMU argument vector.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "vm/wire/shares.hpp"

namespace berth::vm::wire {

// Guest RAM = memory limit + the guest kernel's and agent's own share, never below the floor
// the cloud kernel needs to unpack the initramfs and run.
constexpr uint64_t kGuestOverheadMiB = 64;
constexpr uint64_t kMinGuestMiB = 128;
constexpr uint64_t kDefaultGuestMiB = 256;  // no memory limit in the spec

struct VmResources {
    uint64_t memMiB = kDefaultGuestMiB;
    unsigned vcpus = 1;
    // With a balloon (vm/wire/balloon.hpp): the RAM QEMU is started with, memMiB being the
    // balloon's target at boot; 0: no balloon, QEMU gets memMiB.
    uint64_t maxMemMiB = 0;
};
// linux.resources (null allowed): memory.limit → RAM; cpu.quota/period rounded up, else the
// number of CPUs in cpu.cpus, else 1 → vCPUs, capped at hostCpus.
Result<VmResources> resourcesFor(const nlohmann::json& resources, unsigned hostCpus);
// "0-3,6" → 5. Errors on malformed lists.
Result<unsigned> countCpus(const std::string& list);

enum class RootfsMode { Block, Initramfs };
const char* rootfsModeName(RootfsMode m);

struct CmdlineOptions {
    RootfsMode rootfs = RootfsMode::Block;
    bool probe = false;   // boot only to prove the accelerator works, then power off
    bool debug = false;   // kernel messages on the console
    bool shares = false;  // the guest loads the 9p modules (berth.shares=1)
    bool timing = false;  // the agent prints its start-time marks (berth.timing=1, $BERTH_VM_TIMING)
    bool net = false;     // the VM has a NIC: the guest loads virtio_net (berth.net=1)
    uint32_t tscKhz = 0;  // the host's TSC rate (vm/host_tsc); 0: unknown, kTscKhzFallback
    bool balloon = false;  // the VM has a virtio-balloon: the guest loads virtio_balloon (berth.balloon=1)
};
// Told to the guest when the host's TSC rate is unknown: its clock then runs at host/2 GHz.
constexpr uint32_t kTscKhzFallback = 2000000;
std::string kernelCmdline(const CmdlineOptions& o);

enum class Accel { Tcg, Kvm };
const char* accelName(Accel a);

struct QemuConfig {
    std::string binary = "qemu-system-x86_64";
    Accel accel = Accel::Tcg;
    std::string kernel, initrd, cmdline;
    VmResources res;
    int agentFd = -1;             // our end of the agent channel is the other socketpair end
    std::string rootfsImage;      // empty: the rootfs travels in the initramfs
    bool rootfsReadonly = false;
    std::string consoleLog;       // the guest's serial console (kernel and agent messages)
    // virtio-net NICs backed by tap fds (opened by the host in the container's netns; no vhost).
    struct Nic {
        int tapFd = -1;
        std::string mac;
    };
    std::vector<Nic> nics;
    std::vector<Share> shares;    // host directories exported over virtio-9p
    // res.maxMemMiB set: a virtio-balloon-device (free page reporting on) and a QMP monitor on
    // this fd (a socketpair end: the shim drives the balloon through it).
    int qmpFd = -1;
};
std::vector<std::string> qemuArgv(const QemuConfig& c);
// -fsdev local (passthrough: QEMU runs as root and files keep the guest's owners on the host)
// + virtio-9p-device (virtio-mmio) per share; readonly=on when every bind of it is ro.
std::vector<std::string> shareArgs(const std::vector<Share>& shares);

// Whether QEMU loads an initrd of `bytes` for a guest of `memMiB`: x86 QEMU refuses ("initrd is
// too large") one that does not fit under min(RAM, the kernel's initrd_addr_max of 2 GiB) less
// its ACPI tables; a MiB of margin.
bool initrdFits(uint64_t bytes, uint64_t memMiB);

}  // namespace berth::vm::wire
