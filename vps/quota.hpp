// vps/quota: the VPS's disk quota — a sparse ext4 image per VPS, loop-mounted, holding the VPS's
// overlay upper and work dirs: the filesystem's size is the quota (ENOSPC past it; `df /` inside
// shows it, as overlayfs reports the upper filesystem). See docs/vps-host.md for why.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace berth::vps {

struct QuotaSpec {
    uint64_t sizeBytes = 0;  // --diskspace
    uint64_t inodes = 0;     // --diskinodes; 0: mkfs.ext4's default for the size
    uid_t ownerUid = 0;      // owner of upper/ and work/ (the VPS's root, mapped)
    gid_t ownerGid = 0;
};

struct QuotaUsage {
    uint64_t usedBytes = 0, limitBytes = 0;
    uint64_t usedInodes = 0, limitInodes = 0;
};

// The dirs the image holds, for the VPS's overlay: <mount>/upper and <mount>/work.
std::string quotaUpperDir(const std::string& mountPoint);
std::string quotaWorkDir(const std::string& mountPoint);
// Smallest image accepted (ext4 with a journal needs some room of its own).
inline constexpr uint64_t kMinQuotaBytes = 16ull << 20;

// Make the image (sparse file + mkfs.ext4, no reserved blocks). Fails if the file exists; on
// failure no file is left.
Status createQuotaImage(const std::string& image, const QuotaSpec& spec);
// Attach the image to a free loop device (LOOP_CTL_GET_FREE + LOOP_CONFIGURE, autoclear: the
// device goes away with the last unmount) and mount it on mountPoint (created if missing);
// upper/ and work/ are made there, owned by the spec's owner. Returns the loop device path.
// A filesystem smaller than its file (a grow left for the next mount) is grown first.
Result<std::string> mountQuotaImage(const std::string& image, const std::string& mountPoint,
                                    uid_t ownerUid = 0, gid_t ownerGid = 0);
// Unmount (the loop device detaches itself). Not mounted: nothing to do.
Status unmountQuotaImage(const std::string& mountPoint);
// How a resize took effect.
enum class ResizeMode { Live, AtNextMount };
// --diskspace: grow while mounted (truncate, LOOP_SET_CAPACITY, resize2fs online) or not.
// Online growth of ext4 needs CAP_SYS_RESOURCE (EXT4_IOC_RESIZE_FS): without it the image file is
// grown now and the filesystem at the next mountQuotaImage (AtNextMount). Shrinking: refused while
// mounted (one line naming the use when below it); offline only down to what the files need.
Result<ResizeMode> resizeQuota(const std::string& image, const std::string& mountPoint,
                               uint64_t newSizeBytes);
// Used and limit, bytes and inodes, from statfs of the mounted image.
Result<QuotaUsage> quotaUsage(const std::string& mountPoint);
// Unmount if mounted, remove the image file and the mountpoint dir.
Status destroyQuota(const std::string& image, const std::string& mountPoint);

// mkfs.ext4's argv for the spec (pure; unit-tested).
std::vector<std::string> mkfsArgs(const std::string& image, const QuotaSpec& spec);

}  // namespace berth::vps
