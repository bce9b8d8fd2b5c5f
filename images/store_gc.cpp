// images/store (part 2): looking images up by what users type, and prune — which blobs and
// snapshots no named image (and no mounted rootfs) still needs.
#include <dirent.h>
#include <cerrno>
#include <sys/stat.h>
#include <unistd.h>

#include "common/atomic_file.hpp"
#include "common/fs.hpp"
#include "images/digest.hpp"
#include "images/reference.hpp"
#include "images/store.hpp"

namespace berth::images {

Result<ImageRecord> Store::resolve(const std::string& word) const {
    ASSIGN_OR_RETURN(auto idx, loadIndex());
    if (auto it = idx.find(word); it != idx.end()) return ImageRecord{it->first, it->second};
    if (auto ref = parseReference(word)) {
        if (auto it = idx.find(ref->str()); it != idx.end()) return ImageRecord{it->first, it->second};
    }
    std::string hex = word.rfind("sha256:", 0) == 0 ? word.substr(7) : word;
    if (hex.size() >= 12 && hex.find_first_not_of("0123456789abcdef") == std::string::npos) {
        for (const auto& [n, d] : idx)
            if (d.compare(7, hex.size(), hex) == 0) return ImageRecord{n, d};
    }
    if (hex.size() == 64 && word == "sha256:" + hex) {
        ASSIGN_OR_RETURN(auto pinned, pins());
        for (const auto& [owner, d] : pinned)
            if (d == word && hasBlob(d)) return ImageRecord{word, d};
    }
    // podman names a local image localhost/NAME:TAG (import, build, commit): a word that is the
    // end of a stored name gets those names as a hint, not a guess made silently.
    std::string want = word.find_first_of(":@") == std::string::npos ? word + ":latest" : word;
    std::string hint;
    for (const auto& [n, d] : idx)
        if (n.size() > want.size() && n.compare(n.size() - want.size(), want.size(), want) == 0 &&
            n[n.size() - want.size() - 1] == '/')
            hint += (hint.empty() ? " (stored as " : ", ") + n;
    if (!hint.empty()) hint += ")";
    return Error(ENOENT, strCat("image \"", word, "\" is not in the store", hint)).hideErrno();
}

Status Store::reachable(const std::string& digest, std::set<std::string>& blobs,
                        std::set<std::string>& layers) const {
    if (!blobs.insert(digest).second) return {};
    ASSIGN_OR_RETURN(std::string text, readBlob(digest));
    ASSIGN_OR_RETURN(DocKind kind, documentKind(text));
    if (kind == DocKind::Index) {
        ASSIGN_OR_RETURN(Index idx, parseIndex(text));
        for (const auto& d : idx.manifests) {
            // An index may name platforms that were never pulled; only what is here counts.
            if (hasBlob(d.digest)) TRY(reachable(d.digest, blobs, layers));
        }
        return {};
    }
    ASSIGN_OR_RETURN(Manifest m, parseManifest(text));
    blobs.insert(m.config.digest);
    for (const auto& l : m.layers) blobs.insert(l.digest);
    for (const auto& c : chainIds(m)) layers.insert(c.substr(7));
    return {};
}

namespace {

bool validPinOwner(const std::string& o) {
    return !o.empty() && o[0] != '.' && o.find('/') == std::string::npos && o.size() <= 200 &&
           (o.size() < 4 || o.compare(o.size() - 4, 4, ".tmp") != 0);
}

std::vector<std::string> listDir(const std::string& dir) {
    std::vector<std::string> out;
    DIR* d = ::opendir(dir.c_str());
    if (!d) return out;
    while (auto* e = ::readdir(d)) {
        std::string n = e->d_name;
        if (n != "." && n != "..") out.push_back(n);
    }
    ::closedir(d);
    return out;
}

// Snapshot dirs some overlay on this host still uses as a lower layer.
std::string mountedOptions() {
    auto text = fs::readFile("/proc/self/mountinfo");
    return text ? *text : std::string();
}

}  // namespace

Status Store::pin(const std::string& owner, const std::string& digest) const {
    if (!validPinOwner(owner)) return Error::make("pin \"", owner, "\": not a valid owner name");
    TRY_CTX(fs::mkdirAll(root_ + "/pins", 0700), "image store");
    // Pinned again at every VPS start: an unchanged pin is not rewritten (no disk flush).
    return fs::writeFileAtomicIfChanged(root_ + "/pins/" + owner, digest + "\n", 0600);
}

Status Store::unpin(const std::string& owner) const {
    if (!validPinOwner(owner)) return Error::make("pin \"", owner, "\": not a valid owner name");
    std::string p = root_ + "/pins/" + owner;
    if (::unlink(p.c_str()) < 0 && errno != ENOENT) return Error::fromErrno("remove pin ", p);
    return {};
}

Result<std::map<std::string, std::string>> Store::pins() const {
    std::map<std::string, std::string> out;
    for (const auto& owner : listDir(root_ + "/pins")) {
        if (!validPinOwner(owner)) continue;  // a pin being written
        auto text = fs::readFile(root_ + "/pins/" + owner);
        if (!text) continue;  // unpinned meanwhile
        std::string d = text->substr(0, text->find('\n'));
        if (d.rfind("sha256:", 0) != 0) return Error::make("pin ", root_, "/pins/", owner, ": not a digest");
        out[owner] = d;
    }
    return out;
}

Result<PruneResult> Store::prune() const {
    TRY(init());
    ASSIGN_OR_RETURN(UniqueFd gc, gcLock(true));
    ASSIGN_OR_RETURN(auto idx, loadIndex());
    std::set<std::string> blobs, layers;
    for (const auto& [name, digest] : idx) TRY_CTX(reachable(digest, blobs, layers), "image ", name);
    ASSIGN_OR_RETURN(auto pinned, pins());
    for (const auto& [owner, digest] : pinned)
        if (hasBlob(digest)) TRY_CTX(reachable(digest, blobs, layers), "pin ", owner);
    PruneResult r;
    for (const auto& hex : listDir(root_ + "/blobs/sha256")) {
        if (blobs.count("sha256:" + hex)) continue;
        std::string p = root_ + "/blobs/sha256/" + hex;
        struct stat st;
        if (::stat(p.c_str(), &st) == 0) r.bytes += st.st_size;
        if (::unlink(p.c_str()) < 0) return Error::fromErrno("remove blob ", p);
        r.blobs++;
    }
    std::string mounts = mountedOptions();
    for (const auto& name : listDir(root_ + "/snapshots")) {
        std::string p = root_ + "/snapshots/" + name;
        bool tmp = name.find('.') != std::string::npos;  // a failed unpack's leftover
        if (!tmp && (layers.count(name) || mounts.find(p) != std::string::npos)) continue;
        TRY_CTX(fs::removeAll(p), "prune snapshot");
        r.snapshots++;
    }
    return r;
}

}  // namespace berth::images
