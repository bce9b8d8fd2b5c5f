// vm/artifacts: what a VM boots from — the host's cloud kernel (or, for bind mounts, the
// generic kernel setup.sh extracts), an initramfs holding berth-agent and that kernel's modules
// (built once, cached by kernel version + agent and module-list hash), and the per-container
// copy of the rootfs (an ext4 disk image or an extra cpio).
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
// Without shares: $BERTH_VM_KERNEL_VERSION, else the newest *-cloud-amd64 with both a vmlinuz
// and modules. With shares (the spec has bind mounts): the generic kernel, which builds 9p as
// modules, as scripts/setup.sh extracts it — <kernels dir>/<version>/vmlinux (decompressed: it
// boots by its PVH entry without the guest unpacking xz) and modules/ (see docs/vm.md).
Result<Kernel> findKernel(bool shares = false);
// $BERTH_VM_KERNELS, else /var/cache/berth/vm/kernels.
std::string sharesKernelsDir();

// The modules the guest needs (virtio-mmio transport, block, console), as module names.
const std::vector<std::string>& guestModules();
// Loaded only when used: ext4 for a rootfs disk (built into the cloud kernel, a module in the
// generic one), 9p for shares. Each goes to its own list in the initramfs (load-block,
// load-shares), which the agent reads when the kernel command line says so.
const std::vector<std::string>& blockModules();
const std::vector<std::string>& shareModules();
// virtio_net, loaded (load-net) only when the VM has a NIC (berth.net=1).
const std::vector<std::string>& netModules();
// virtio_balloon, loaded (load-balloon) only when the VM has a balloon (berth.balloon=1).
const std::vector<std::string>& balloonModules();
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
    bool balloon = false;   // the initramfs has virtio_balloon (load-balloon): the VM may have a balloon
};
// Whether the kernel's modules dir has virtio_balloon.ko (the generic kernel's extraction by an
// older scripts/setup.sh does not).
bool hasBalloonModule(const Kernel& k);
// Builds the initramfs on first use (under a lock, written atomically), else reuses it. Each use
// stamps the directory's mtime; a build removes the other initramfs directories not used for
// kArtifactMaxIdle (pruneBootArtifacts): every new agent build or kernel is a new directory.
Result<BootArtifacts> ensureBootArtifacts(const std::string& cacheRoot, bool shares = false);
constexpr int64_t kArtifactMaxIdleSeconds = 24 * 3600;
// Removes `<version>-<16 hex>` directories under cacheRoot, other than `keep`, whose mtime is
// older than now - maxIdleSeconds and whose .lock nobody holds; returns how many went.
size_t pruneBootArtifacts(const std::string& cacheRoot, const std::string& keep, int64_t maxIdleSeconds, int64_t now);
// The initramfs contents for a kernel (agent as /init, modules, their load order). unsigned:
// the modules without their appended signatures (modulesMayBeUnsigned).
Result<std::string> buildInitramfs(const Kernel& k, const std::string& agentBinary, bool unsignedModules = false);
// Whether the guest kernel loads unsigned modules (its config, /boot/config-<version> or
// <kernel dir>/config, has no CONFIG_MODULE_SIG_FORCE=y). Then the initramfs carries them
// unsigned: the guest's signature check (a SHA-256 and an RSA verify per module) was ~3.5 ms a
// module under TCG, 14 of the 37 ms the floor's /init spends on modules (bench/README.md).
bool modulesMayBeUnsigned(const Kernel& k);

// The cloud kernel's bzImage unpacks itself (LZ4) in the guest at every boot, which costs 0.2–2 s
// under TCG; its ELF vmlinux, unpacked once here (`lz4`) into <cacheRoot>/vmlinux-<version>, boots
// by its PVH entry with nothing to unpack. The bzImage when that cannot be done (no lz4).
std::string unpackedKernel(const Kernel& k, const std::string& cacheRoot);

// The rootfs as a raw ext4 image (mkfs.ext4 -d, no journal: the image is thrown away on delete).
Status makeRootfsImage(const std::string& rootfs, const std::string& image);
// The boot initramfs followed by a second cpio archive with the rootfs under /rootfs (the
// kernel unpacks concatenated archives in order).
Status makeRootfsInitrd(const std::string& bootInitramfs, const std::string& rootfs, const std::string& out);

}  // namespace berth::vm
