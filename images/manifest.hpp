// images/manifest: the OCI and Docker schema2 JSON documents — descriptors, manifests, indexes
// (manifest lists) with platform selection, and the image config fields berth uses.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace berth::images {

// Media types (manifest, config and layer descriptors).
inline constexpr const char* kMediaOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr const char* kMediaOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr const char* kMediaOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr const char* kMediaOciLayerTar = "application/vnd.oci.image.layer.v1.tar";
inline constexpr const char* kMediaOciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr const char* kMediaOciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr const char* kMediaDockerList = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr const char* kMediaDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr const char* kMediaDockerConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr const char* kMediaDockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";

struct Platform {
    std::string os = "linux";
    std::string architecture = "amd64";
    std::string variant;
    std::string str() const;
};

// "os/arch[/variant]".
Result<Platform> parsePlatform(const std::string& s);

struct Descriptor {
    std::string mediaType;
    std::string digest;
    int64_t size = 0;
    std::optional<Platform> platform;
    std::map<std::string, std::string> annotations;
};

struct Manifest {
    std::string mediaType;
    Descriptor config;
    std::vector<Descriptor> layers;
};

struct Index {
    std::string mediaType;
    std::vector<Descriptor> manifests;
};

enum class DocKind { Manifest, Index };

// Which of the two a document is: by its mediaType, else by its shape.
Result<DocKind> documentKind(const std::string& text, const std::string& contentType = "");
Result<Manifest> parseManifest(const std::string& text);
Result<Index> parseIndex(const std::string& text);
nlohmann::json descriptorJson(const Descriptor& d);
// The manifest's entry of an index whose platform matches (variant only if asked for).
Result<Descriptor> selectPlatform(const Index& idx, const Platform& want);
bool isLayerMediaType(const std::string& mt);
// The snapshot key of each layer: its digest for the first, then sha256("<parent key> <digest>")
// — OCI's chain id, taken over blob digests (what berth has verified) instead of diff ids.
std::vector<std::string> chainIds(const Manifest& m);

struct ImageConfig {
    std::string os, architecture;
    std::string user, workingDir, stopSignal;
    std::vector<std::string> env, entrypoint, cmd, diffIds;
    std::map<std::string, std::string> labels;
};

Result<ImageConfig> parseImageConfig(const std::string& text);

}  // namespace berth::images
