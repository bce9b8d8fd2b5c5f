// common/atomic_file: atomic file writes that skip the disk flush when nothing changed.
#pragma once

#include <sys/types.h>

#include <string>

#include "common/error.hpp"

namespace berth::fs {

// fs::writeFileAtomic, unless path is already a regular file holding exactly `data` with
// `mode`: then nothing is written (no fsync, no rename). For files rewritten with the same
// bytes on every start (a VPS's bundle config, its image pin), where each fsync is a disk flush.
Status writeFileAtomicIfChanged(const std::string& path, const std::string& data, mode_t mode = 0644);

}  // namespace berth::fs
