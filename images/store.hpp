// images/store: the on-disk content store — sha256-addressed blobs (verified before they become
// visible), the name → manifest-digest index, per-layer snapshot dirs, locks, and prune.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/unique_fd.hpp"
#include "images/manifest.hpp"

namespace berth::images {

inline constexpr const char* kDefaultStore = "/var/lib/berth";

// --store wins, then $BERTH_STORE, then /var/lib/berth.
std::string storeRoot(const std::string& flag);

struct ImageRecord {
    std::string name;    // "docker.io/library/busybox:latest"
    std::string digest;  // of the manifest
};

struct PruneResult {
    int blobs = 0, snapshots = 0;
    uint64_t bytes = 0;
};

class Store {
public:
    explicit Store(std::string root) : root_(std::move(root)) {}
    const std::string& root() const { return root_; }
    Status init() const;

    std::string blobPath(const std::string& digest) const;
    std::string snapshotPath(const std::string& chainId) const;
    std::string tmpDir() const { return root_ + "/tmp"; }
    bool hasBlob(const std::string& digest) const;
    // Read a blob and check it still hashes to its name.
    Result<std::string> readBlob(const std::string& digest) const;
    // Store bytes under their own digest (or refuse when expected is given and differs).
    Result<std::string> putBlob(const std::string& data, const std::string& expected = "") const;
    // Copy a file into the store, verifying it against expected.
    Status ingestFile(const std::string& path, const std::string& expected) const;
    // Move a fully written temp file (in tmpDir()) into place after verifying it; the caller
    // holds blobLock(expected).
    Status commitTemp(const std::string& tmpPath, const std::string& expected) const;
    // Exclusive flock of one blob: concurrent writers of the same digest take turns.
    Result<UniqueFd> blobLock(const std::string& digest) const;
    // Shared for anything that adds content, exclusive for prune: prune never removes blobs a
    // running import or pull has written but not yet named.
    Result<UniqueFd> gcLock(bool exclusive) const;

    Result<std::vector<ImageRecord>> images() const;
    Status setImage(const std::string& name, const std::string& digest) const;
    Status removeImage(const std::string& name) const;
    // A user's word for an image: a name (normalised), a manifest digest, or a hex prefix of one.
    Result<ImageRecord> resolve(const std::string& word) const;

    // The manifest of an image (an index's entry for this host's platform when it is an index).
    Result<Manifest> manifestOf(const std::string& digest) const;
    // Prune keeps what the named images and the pins reach, and snapshots a mount uses.
    Result<PruneResult> prune() const;

    // Pins: an owner (a file name, e.g. "vps-web1") keeps an image's manifest, config, layers
    // and snapshots from prune after its name is removed (`image rm`), until it unpins — as an
    // Incus instance keeps its image's volume. A pinned manifest digest still resolves (as
    // "sha256:<hex>", in full) when no name points at it any more.
    Status pin(const std::string& owner, const std::string& digest) const;
    Status unpin(const std::string& owner) const;
    // owner -> manifest digest
    Result<std::map<std::string, std::string>> pins() const;

private:
    Result<std::map<std::string, std::string>> loadIndex() const;
    Status saveIndex(const std::map<std::string, std::string>& idx) const;
    Status reachable(const std::string& digest, std::set<std::string>& blobs, std::set<std::string>& layers) const;
    std::string root_;
};

// Lock a file (created if needed) with flock; released when the fd closes.
Result<UniqueFd> lockFile(const std::string& path, bool exclusive);

}  // namespace berth::images
