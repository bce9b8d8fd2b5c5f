// namespaces/mount_options: the flag arithmetic of mounts — statfs(2) flags as MS_* flags,
// which flags a user namespace locks, and how a refused bind remount is retried.
#pragma once

#include <optional>
#include <string>

namespace berth::namespaces {

// The MS_* flags a mount currently has, from statfs(2)'s f_flags (ST_*). MS_STRICTATIME is
// reported when no other atime mode is set, because the kernel never reports it.
unsigned long statfsToMountFlags(unsigned long stFlags);

// Flags the kernel locks (MNT_LOCK_*) on mounts inherited into a less privileged user
// namespace: a remount must keep them.
unsigned long lockableMountFlags();

// A bind remount asking for `requested` (and explicitly clearing `cleared`) failed on a
// mount that currently has `current`. Returns the flags to retry with (the request plus the
// locked flags it kept), or nullopt when keeping them would silently violate the request:
// a locked flag the user cleared, or a different atime mode than the one asked for.
std::optional<unsigned long> remountRetryFlags(unsigned long requested, unsigned long cleared,
                                               unsigned long current);

// MS_* flags as mount(8) would spell them ("bind,remount,ro,nosuid"), for error messages;
// propagation flags read as their option ("rslave"). Unknown bits are shown in hex.
std::string mountFlagNames(unsigned long flags);

}  // namespace berth::namespaces
