// images/bundle_config: the pure half of bundle generation — an image config (Entrypoint, Cmd,
// Env, WorkingDir, User, StopSignal, Labels) applied to a base runtime spec, and image users
// resolved against the image's own /etc/passwd and /etc/group text.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "images/manifest.hpp"

namespace berth::images {

struct UserIds {
    uint32_t uid = 0, gid = 0;
    std::vector<uint32_t> additionalGids;
};

// "", "name", "uid", "name:group", "uid:gid" (names looked up in the given file texts). A
// numeric uid missing from passwd gets gid 0, as docker does; a name missing is an error.
Result<UserIds> resolveUser(const std::string& user, const std::string& passwd, const std::string& group);

inline constexpr const char* kStopSignalAnnotation = "org.opencontainers.image.stopSignal";

// baseSpec with the image's process and annotations; args, when non-empty, replace Cmd. No
// Entrypoint, Cmd nor args is an error, or with keepBaseCommand the base spec's process.args.
Result<nlohmann::json> specFromImage(const ImageConfig& cfg, nlohmann::json baseSpec, const UserIds& user,
                                     const std::vector<std::string>& args, bool keepBaseCommand = false);

}  // namespace berth::images
