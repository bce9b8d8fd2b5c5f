// runtime/container_cgroup: the host cgroup a container is accounted in — made from the spec's
// linux.cgroupsPath at create, recorded for delete (and a crash-recovery `delete --force`),
// removed at delete. Both handlers use it: the namespaces one limits its init there, the VM one
// only accounts its shim and VMM there (vm/vm_handler.cpp).
#pragma once

#include <memory>

#include "cgroups/manager.hpp"
#include "common/error.hpp"
#include "common/unique_fd.hpp"
#include "runtime/handler.hpp"

namespace berth::runtime {

struct ContainerCgroup {
    std::unique_ptr<cgroups::Manager> manager;
    // Removes the cgroup unless dismissed once the container is launched. Inert when the cgroup
    // already held processes (another container's, a pod's: runc 1.1 warns, 1.2 refuses):
    // a failed create must neither kill them nor remove the cgroup they live in.
    ScopeGuard removeOnFailure{nullptr};
};

// Make the cgroup req's spec names (empty cgroupsPath: "<caller's cgroup>/<id>"), refusing a
// frozen one. *req.record gets it and is saved before anything is made (so `delete --force`
// after a crash finds even a half-made one) and again once the parents create made are known.
// On error nothing is left.
Result<ContainerCgroup> makeContainerCgroup(const HandlerRequest& req);

// The recorded cgroup's manager; nullptr when the record names none (a rootless container
// without one, or a record from before the handler made one).
Result<std::unique_ptr<cgroups::Manager>> recordedCgroup(const state::ContainerState& st);

}  // namespace berth::runtime
