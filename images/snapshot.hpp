// images/snapshot: per-layer snapshot dirs stacked as overlayfs lower layers — making sure they
// exist (unpacked once, in parallel) and mounting an image's merged view or a writable rootfs.
#pragma once

#include <string>
#include <vector>

#include "common/error.hpp"
#include "images/manifest.hpp"
#include "images/store.hpp"

namespace berth::images {

// Make sure every layer of m has its snapshot: each missing one is unpacked into a temp dir
// and renamed into place only when complete, up to `jobs` layers at a time (0: one per CPU).
Status ensureSnapshots(const Store& store, const Manifest& m, int jobs = 0);

// Lower dirs for overlayfs, topmost first.
std::vector<std::string> lowerDirs(const Store& store, const Manifest& m);

// overlay on target: lowers (topmost first) plus, when upper is non-empty, a private upper and
// work dir; read-only without them.
Status mountOverlay(const std::vector<std::string>& lowers, const std::string& upper,
                    const std::string& work, const std::string& target);

// Without overlayfs: copy the layers (topmost first, as for mountOverlay) into target, an
// empty directory, applying their whiteouts and opaque markers.
Status copyLayers(const std::vector<std::string>& lowers, const std::string& target);

}  // namespace berth::images
