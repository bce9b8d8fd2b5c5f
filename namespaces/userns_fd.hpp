// namespaces/userns_fd: user namespaces that exist only to carry id maps — the fd that
// mount_setattr(MOUNT_ATTR_IDMAP) takes for idmapped mounts (bind mounts, overlay lower layers).
#pragma once

#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "common/unique_fd.hpp"
#include "namespaces/namespaces.hpp"

namespace berth::namespaces {

// The kernel's limit on lines in uid_map/gid_map.
inline constexpr size_t kMaxIdMapLines = 340;

// What the kernel would refuse in a uid_map/gid_map, as one line naming `what` ("uidMappings"):
// no ranges, too many, an empty one, one that wraps past 2^32, or two whose containerID or
// hostID ranges overlap.
Status validateIdMaps(const std::vector<IdMap>& maps, std::string_view what);

// An fd of a new user namespace (owned by ours) whose uid_map and gid_map are `uids` and `gids`
// ("containerID hostID size" lines). A short-lived child makes it and exits before this returns;
// the fd keeps the namespace alive. Needs CAP_SETUID/CAP_SETGID over the host ids mapped.
Result<UniqueFd> makeUserNamespaceFd(const std::vector<IdMap>& uids, const std::vector<IdMap>& gids);

}  // namespace berth::namespaces
