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
// Returns the directories it had to create without an entry of their own (a layer may list
// "a/b/f" without "a/b").
Result<std::vector<std::string>> unpackLayer(const std::string& blobPath, const std::string& destDir);

// Give the implicit directory `path` of the layer in dir the owner, mode, xattrs and times of
// the same directory in the topmost lower that has it — what extracting onto the merged tree
// would have kept, and what overlay needs since it shows the upper dir's attributes.
Status inheritDirMetadata(const std::vector<std::string>& lowersTopFirst, const std::string& dir,
                          const std::string& path);


}  // namespace berth::images
