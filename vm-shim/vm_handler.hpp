// vm-shim/vm_handler: the "vm" runtime::Handler — a container run in a QEMU micro-VM: boot
// artifacts, the rootfs copy, resources, then the shim; kill/delete/ps reach the VM through it.
#pragma once

#include <memory>

#include "runtime/handler.hpp"

namespace berth::vm {

constexpr const char* kHandlerName = "vm";
// Annotation choosing how the rootfs reaches the guest: "block" (ext4 image on virtio-blk,
// the default) or "initramfs" (a cpio appended to the boot initramfs; small images only).
constexpr const char* kRootfsAnnotation = "org.berth.vm.rootfs";

std::shared_ptr<runtime::Handler> makeHandler();

}  // namespace berth::vm
