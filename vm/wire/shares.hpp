// vm/wire/shares: the spec's bind mounts as host directories shared with the guest over
// virtio-9p — which directories QEMU exports (a file bind exports its parent), and what the
// agent mounts where in the rootfs. Pure planning; the guest side is agent/shares.cpp.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "runtime/spec/spec.hpp"

namespace berth::vm::wire {

// One exported host directory: -fsdev local,path=hostDir + virtio-9p-device,mount_tag=tag.
struct Share {
    std::string tag;      // "b0", "b1", ... (QEMU allows up to 31 bytes)
    std::string hostDir;
    bool readonly = true;  // only when every bind that uses it is read-only
};

// One bind mount in the guest: <share tag>/<file> (file empty: the whole share) onto
// destination in the rootfs.
struct GuestMount {
    std::string tag;
    std::string file;  // a file bind: the name of the file in the shared directory
    std::string destination;
    bool readonly = false;
    // The bind's spec options but bind/rbind (ro, nosuid, noexec, atime modes, their r* forms,
    // propagation): the guest remounts the bind with them as the namespaces path does.
    std::vector<std::string> options;
};

struct SharePlan {
    std::vector<Share> shares;
    std::vector<GuestMount> mounts;
};

// A mount the VM path passes to the guest: type "bind", or "bind"/"rbind" in its options.
bool isBindMount(const runtime::spec::Mount& m);
// The spec's bind mounts as shares, in spec order. Destinations the guest provides itself
// (/proc, /sys, /dev and below) are left out. A source that does not exist (or is neither a
// directory nor a regular file) is an error naming it and its destination. A relative source
// is relative to the bundle, as runc reads it.
Result<SharePlan> planShares(const std::vector<runtime::spec::Mount>& mounts, const std::string& bundle = "/");

nlohmann::json toJson(const std::vector<GuestMount>& mounts);
Result<std::vector<GuestMount>> guestMountsFromJson(const nlohmann::json& j);

}  // namespace berth::vm::wire
