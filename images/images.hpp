// images: what the CLI asks of the image library — import, export, pull, list, inspect, remove,
// prune, mount — each a function over a Store, returning Result like the rest of berth.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "images/manifest.hpp"
#include "images/store.hpp"

namespace berth::images {

// An OCI layout (dir or tar) or a docker-archive (dir or tar); `name` renames the image.
// Every layer is unpacked into its snapshot; on any failure the store is left as it was.
Result<std::vector<ImageRecord>> importImage(const Store& store, const std::string& path, const std::string& name);
// Write an OCI image layout (oci-layout, index.json, blobs/) to dir.
Status exportImage(const Store& store, const std::string& image, const std::string& dir);

struct ImageInfo {
    std::string name, digest;
    int64_t size = 0;  // of config and layers, as stored
    int layers = 0;
};
Result<std::vector<ImageInfo>> listImages(const Store& store);
Result<nlohmann::json> inspectImage(const Store& store, const std::string& image);
Status removeImage(const Store& store, const std::string& image);

// The read-only merged view of an image on dir, and its removal.
Status mountImage(const Store& store, const std::string& image, const std::string& dir);
Status unmountImage(const std::string& dir);

// The resolved manifest and config of an image, with every snapshot in place.
struct ResolvedImage {
    ImageRecord record;
    Manifest manifest;
    ImageConfig config;
};
Result<ResolvedImage> resolveImage(const Store& store, const std::string& image);

// Shared by import and pull: the blobs an operation added, removed again unless committed.
class BlobTransaction {
public:
    explicit BlobTransaction(const Store& store) : store_(store) {}
    ~BlobTransaction();
    void added(const std::string& digest) { added_.push_back(digest); }
    void commit() { added_.clear(); }

private:
    const Store& store_;
    std::vector<std::string> added_;
};

}  // namespace berth::images
