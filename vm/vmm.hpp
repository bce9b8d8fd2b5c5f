// vm/vmm: the VMM backend interface (what the shim needs from a hypervisor: start a VM
// from a boot description, as a child process it can wait for) and the QEMU implementation,
// with the cached probe that decides whether KVM can boot this kernel or TCG must be used.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "common/error.hpp"
#include "vm/artifacts.hpp"
#include "vm/wire/boot_config.hpp"

namespace berth::vm {

class Vmm {
public:
    virtual ~Vmm() = default;
    virtual const char* name() const = 0;
    // Start the VM as a child of the caller, in its own session, killed if the caller dies.
    // agentFd becomes the guest's agent channel; vmmLog receives the VMM's own stdout/stderr.
    virtual Result<pid_t> start(const wire::QemuConfig& c, int agentFd, const std::string& vmmLog) = 0;
};

std::unique_ptr<Vmm> makeQemu();

struct AccelChoice {
    wire::Accel accel = wire::Accel::Tcg;
    std::string reason;  // why, for the warning and the docs
};
// $BERTH_VM_ACCEL=tcg|kvm forces; otherwise KVM when /dev/kvm opens and a probe boot of this
// kernel + initramfs under KVM reaches the agent. The probe result is cached per artifact dir.
AccelChoice chooseAccel(const BootArtifacts& a);

}  // namespace berth::vm
