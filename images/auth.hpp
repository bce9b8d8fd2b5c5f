// images/auth: registry authentication inputs — WWW-Authenticate challenges (Bearer realm,
// service, scope; Basic) and credentials from auth.json files (containers-auth.json format).
#pragma once

#include <map>
#include <optional>
#include <string>

#include "common/error.hpp"

namespace berth::images {

struct Challenge {
    std::string scheme;                         // lowercase: "bearer", "basic"
    std::map<std::string, std::string> params;  // realm, service, scope, ...
};

// `Bearer realm="https://auth/token",service="reg",scope="repository:a/b:pull"`.
Result<Challenge> parseWwwAuthenticate(const std::string& header);

struct Credentials {
    std::string username, password;
};

// The credentials auth.json holds for registry (keys may be "host", "https://host/v1/", ...).
Result<std::optional<Credentials>> credentialsFor(const std::string& authJson, const std::string& registry);
// $REGISTRY_AUTH_FILE, else $XDG_RUNTIME_DIR/containers/auth.json, else /run/containers/<uid>/auth.json.
std::string defaultAuthFile();

std::string base64Encode(const std::string& in);
Result<std::string> base64Decode(const std::string& in);

}  // namespace berth::images
