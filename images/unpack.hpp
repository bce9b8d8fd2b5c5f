// images/unpack: a layer tar (plain, gzip or zstd) into its own snapshot dir, ready to be an
// overlay lower layer; hostile entries are refused and nothing is written outside the dir.
#pragma once

#include <string>
#include <vector>

#include "common/error.hpp"
#include "images/manifest.hpp"
#include "images/store.hpp"

namespace berth::images {

// Unpack the layer at blobPath into the existing, empty directory destDir. OCI whiteouts
// become overlay whiteouts (a 0:0 char device; trusted.overlay.opaque=y on the dir).
Status unpackLayer(const std::string& blobPath, const std::string& destDir);


}  // namespace berth::images
