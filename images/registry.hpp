// images/registry: pulling over the OCI distribution API v2 — manifest negotiation, platform
// selection from indexes, bearer-token and basic auth, concurrent verified blob downloads that
// resume from partial files.
#pragma once

#include <string>

#include "common/error.hpp"
#include "images/store.hpp"

namespace berth::images {

struct PullOptions {
    std::string reference;
    std::string platform;  // "os/arch[/variant]"; empty: linux/amd64
    std::string authFile;  // auth.json; empty: $REGISTRY_AUTH_FILE or $XDG_RUNTIME_DIR/containers/auth.json
    bool insecure = false; // plain http (and no TLS verification)
    bool progress = false; // a progress line on stderr
    int jobs = 4;          // concurrent blob downloads
};

Result<ImageRecord> pull(const Store& store, const PullOptions& o);

}  // namespace berth::images
