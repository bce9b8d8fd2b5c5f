// vm/proc_view: a VM container's processes where `podman top` looks for them. podman 4.3 (psgo)
// joins the mount namespace of the container's pid — for a VM container, its shim's — and reads
// /proc there: before this, the host's every process. The shim now runs in a mount namespace of
// its own (made once the VM is up; the host's mounts it does not use are detached from it, so it
// pins none of them), whose /proc is a FUSE file system the shim serves itself from the guest
// agent's snapshot of the container's own /proc (wire::ProcSnapshot): one directory per pid of
// the container's PID namespace with stat, status, cmdline and ns/pid, and /proc/stat with the
// guest's btime — the files psgo reads. Read-only, no caching in the kernel (every lookup asks),
// the snapshot refreshed when older than a second.
//
// ProcFs is the protocol part (requests as read from /dev/fuse → reply bytes), without I/O;
// mountProcView makes the namespace and the mount.
#pragma once

#include <cstdint>
#include <string>

#include "common/error.hpp"
#include "common/unique_fd.hpp"
#include "vm/wire/guest_ops.hpp"

namespace berth::vm {

class ProcFs {
public:
    // Whether answering this request needs the snapshot (the ones that only set up or tear
    // down — INIT, FORGET, RELEASE, DESTROY... — do not).
    static bool needsSnapshot(const std::string& request);
    // The reply to one request (empty: none is due — FORGET, INTERRUPT — or the request is too
    // short to have a unique id). Unknown operations get ENOSYS; nothing here throws.
    std::string answer(const std::string& request, const wire::ProcSnapshot& snap) const;
};

// In the calling (single-threaded) process: a new mount namespace, slave to the host's, with
// every mount detached except / and those holding `keep` paths (and their ancestors), /dev,
// /sys and /proc; then a FUSE file system over /proc whose /dev/fuse fd is returned, for the
// caller to serve with ProcFs. After this the process must not read /proc by path: it would be
// waiting on itself.
Result<UniqueFd> mountProcView(const std::vector<std::string>& keep);

// The mounts to detach, deepest first, given mountinfo's mount points in order (pure).
std::vector<std::string> mountsToDetach(const std::vector<std::string>& mountPoints, const std::vector<std::string>& keep);

}  // namespace berth::vm
