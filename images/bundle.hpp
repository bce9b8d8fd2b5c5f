// images/bundle: OCI bundles made from images — DIR/config.json from a base spec the caller
// passes in (runtime's default) and DIR/rootfs an overlay of the shared layer snapshots with a
// private upper dir; and taking such a bundle down again.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "images/store.hpp"

namespace berth::images {

struct BundleRequest {
    std::string image;
    std::string dir;
    nlohmann::json baseSpec;
    std::vector<std::string> args;  // replace the image's Cmd when non-empty
    // An image with no Entrypoint/Cmd and no args: keep the base spec's command (as umoci does)
    // instead of failing.
    bool baseCommandIfNone = false;
    nlohmann::json extraAnnotations = nlohmann::json::object();
};

struct BundleMade {
    bool baseCommand = false;  // config.json runs the base spec's command: the image has none
};
// On failure nothing is left: the mount is undone and a dir this call made is removed.
Result<BundleMade> createBundle(const Store& store, const BundleRequest& req);
// Unmount DIR/rootfs and remove DIR — only a dir createBundle made (it carries a marker).
Status removeBundle(const std::string& dir);
bool isImageBundle(const std::string& dir);

}  // namespace berth::images
