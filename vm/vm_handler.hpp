// vm/vm_handler: the "vm" runtime::Handler — a container run in a QEMU micro-VM: boot
// artifacts, the rootfs copy, resources, then the shim; kill/delete/ps reach the VM through it.
#pragma once

#include <memory>

#include "runtime/handler.hpp"

namespace berth::vm {

constexpr const char* kHandlerName = "vm";
// Annotation choosing how the rootfs reaches the guest: "block" (an ext4 image on virtio-blk),
// "initramfs" (a cpio appended to the boot initramfs, held in guest RAM) or "auto" (the default:
// the initramfs for a rootfs of at most kInitramfsMaxMiB, else block).
constexpr const char* kRootfsAnnotation = "org.berth.vm.rootfs";
constexpr uint64_t kInitramfsMaxMiB = 32;

std::shared_ptr<runtime::Handler> makeHandler();

}  // namespace berth::vm
