// images/reference: image references as users type them ("busybox", "host:5000/a/b:tag",
// "name@sha256:...") normalised the way docker does (docker.io, library/, :latest).
#pragma once

#include <string>

#include "common/error.hpp"

namespace berth::images {

struct Reference {
    std::string registry;    // "docker.io", "127.0.0.1:5000"
    std::string repository;  // "library/busybox"
    std::string tag;         // empty when only a digest was given
    std::string digest;      // "sha256:..." or empty

    // "docker.io/library/busybox:latest" or "host/repo@sha256:..." — the key in the store.
    std::string str() const;
    // "registry/repository" without tag or digest.
    std::string name() const { return registry + "/" + repository; }
    // What to ask the registry's manifests endpoint for.
    std::string manifestRef() const { return digest.empty() ? tag : digest; }
};

Result<Reference> parseReference(const std::string& s);

}  // namespace berth::images
