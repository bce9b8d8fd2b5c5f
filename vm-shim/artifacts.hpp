// vm-shim/artifacts: what a VM boots from — the host's cloud kernel, an initramfs holding
// berth-agent and that kernel's virtio modules (built once, cached by kernel version + agent
// hash), and the per-container copy of the rootfs (an ext4 disk image or an extra cpio).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace berth::vm {

struct Kernel {
    std::string version;     // 6.1.0-56-cloud-amd64
    std::string image;       // /boot/vmlinuz-<version>
    std::string modulesDir;  // /lib/modules/<version>
};
// $BERTH_VM_KERNEL_VERSION, else the newest *-cloud-amd64 with both a vmlinuz and modules.
Result<Kernel> findKernel();

// The modules the guest needs (virtio-mmio transport, block, console), as module names.
const std::vector<std::string>& guestModules();
// modules.dep text → the .ko paths (relative to the modules dir) of `wanted` and everything they
// depend on, dependencies first, each once. Unknown modules are an error.
Result<std::vector<std::string>> moduleLoadOrder(const std::string& modulesDep,
                                                 const std::vector<std::string>& wanted);

// berth-agent: $BERTH_VM_AGENT, else beside the running berth (installed) or in the build tree.
Result<std::string> findAgent();

uint64_t fnv1a(const std::string& data, uint64_t seed = 14695981039346656037ull);

struct BootArtifacts {
    Kernel kernel;
    std::string initramfs;  // <cache>/<version>-<agent hash>/initramfs.cpio
    std::string cacheDir;
};
// Builds the initramfs on first use (under a lock, written atomically), else reuses it.
Result<BootArtifacts> ensureBootArtifacts(const std::string& cacheRoot);
// The initramfs contents for a kernel (agent as /init, modules, their load order).
Result<std::string> buildInitramfs(const Kernel& k, const std::string& agentBinary);

// The rootfs as a raw ext4 image (mkfs.ext4 -d, no journal: the image is thrown away on delete).
Status makeRootfsImage(const std::string& rootfs, const std::string& image);
// The boot initramfs followed by a second cpio archive with the rootfs under /rootfs (the
// kernel unpacks concatenated archives in order).
Status makeRootfsInitrd(const std::string& bootInitramfs, const std::string& rootfs, const std::string& out);

}  // namespace berth::vm
