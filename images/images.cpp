// images/images: the store-level operations behind `berth image ls|inspect|rm|mount|umount|
// export` — small compositions of Store, manifests and snapshots.
#include "images/images.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fs.hpp"
#include "common/json.hpp"
#include "images/digest.hpp"
#include "images/reference.hpp"
#include "images/snapshot.hpp"

namespace berth::images {

using nlohmann::json;

Result<ResolvedImage> resolveImage(const Store& store, const std::string& image) {
    ResolvedImage r;
    ASSIGN_OR_RETURN(r.record, store.resolve(image));
    ASSIGN_OR_RETURN(r.manifest, store.manifestOf(r.record.digest));
    ASSIGN_OR_RETURN(std::string cfg, store.readBlob(r.manifest.config.digest));
    ASSIGN_OR_RETURN(r.config, parseImageConfig(cfg));
    TRY(ensureSnapshots(store, r.manifest));
    return r;
}

Result<std::vector<ImageInfo>> listImages(const Store& store) {
    ASSIGN_OR_RETURN(auto recs, store.images());
    std::vector<ImageInfo> out;
    for (const auto& rec : recs) {
        ImageInfo info{rec.name, rec.digest};
        if (auto m = store.manifestOf(rec.digest)) {
            info.size = m->config.size;
            for (const auto& l : m->layers) info.size += l.size;
            info.layers = static_cast<int>(m->layers.size());
        }
        out.push_back(info);
    }
    return out;
}

Result<json> inspectImage(const Store& store, const std::string& image) {
    ASSIGN_OR_RETURN(ImageRecord rec, store.resolve(image));
    ASSIGN_OR_RETURN(Manifest m, store.manifestOf(rec.digest));
    ASSIGN_OR_RETURN(std::string cfgText, store.readBlob(m.config.digest));
    json j;
    j["name"] = rec.name;
    j["digest"] = rec.digest;
    j["manifest"] = {{"mediaType", m.mediaType}, {"config", descriptorJson(m.config)}, {"layers", json::array()}};
    auto chain = chainIds(m);
    for (size_t i = 0; i < m.layers.size(); i++) {
        json lj = descriptorJson(m.layers[i]);
        lj["snapshot"] = store.snapshotPath(chain[i]);
        j["manifest"]["layers"].push_back(lj);
    }
    ASSIGN_OR_RETURN(j["config"], parseJson(cfgText, "image config " + m.config.digest));
    return j;
}

Status removeImage(const Store& store, const std::string& image) {
    ASSIGN_OR_RETURN(ImageRecord rec, store.resolve(image));
    return store.removeImage(rec.name);
}

Status mountImage(const Store& store, const std::string& image, const std::string& dir) {
    ASSIGN_OR_RETURN(UniqueFd gc, store.gcLock(false));
    ASSIGN_OR_RETURN(ResolvedImage r, resolveImage(store, image));
    auto lowers = lowerDirs(store, r.manifest);
    // Read-only overlay needs two lowers; the empty dir also keeps a one-layer image's
    // whiteouts hidden like any other.
    std::string empty = store.root() + "/empty";
    TRY(fs::mkdirAll(empty, 0755));
    lowers.push_back(empty);
    return mountOverlay(lowers, "", "", dir);
}

Status unmountImage(const std::string& dir) {
    if (::umount2(dir.c_str(), UMOUNT_NOFOLLOW) < 0) return Error::fromErrno("unmount ", dir);
    return {};
}

namespace {

Status copyBlob(const Store& store, const std::string& digest, const std::string& dir) {
    std::string dst = dir + "/blobs/sha256/" + digest.substr(7);
    if (fs::exists(dst)) return {};
    std::string src = store.blobPath(digest);
    if (::link(src.c_str(), dst.c_str()) == 0) return {};
    ASSIGN_OR_RETURN(std::string data, fs::readFile(src));
    return fs::writeFileAtomic(dst, data, 0644);
}

Status exportTree(const Store& store, const std::string& digest, const std::string& dir) {
    ASSIGN_OR_RETURN(std::string text, store.readBlob(digest));
    TRY(copyBlob(store, digest, dir));
    ASSIGN_OR_RETURN(DocKind kind, documentKind(text));
    if (kind == DocKind::Index) {
        ASSIGN_OR_RETURN(Index idx, parseIndex(text));
        for (const auto& d : idx.manifests)
            if (store.hasBlob(d.digest)) TRY(exportTree(store, d.digest, dir));
        return {};
    }
    ASSIGN_OR_RETURN(Manifest m, parseManifest(text));
    TRY(copyBlob(store, m.config.digest, dir));
    for (const auto& l : m.layers) TRY(copyBlob(store, l.digest, dir));
    return {};
}

}  // namespace

Status exportImage(const Store& store, const std::string& image, const std::string& dir) {
    ASSIGN_OR_RETURN(ImageRecord rec, store.resolve(image));
    ASSIGN_OR_RETURN(std::string text, store.readBlob(rec.digest));
    ASSIGN_OR_RETURN(DocKind kind, documentKind(text));
    std::string mediaType;
    try {
        if (auto doc = parseJson(text, rec.digest))
            mediaType = doc->value("mediaType", kind == DocKind::Index ? kMediaOciIndex : kMediaOciManifest);
    } catch (const json::exception&) {
    }
    TRY(fs::mkdirAll(dir + "/blobs/sha256", 0755));
    TRY(exportTree(store, rec.digest, dir));
    ASSIGN_OR_RETURN(Reference ref, parseReference(rec.name));
    json desc{{"mediaType", mediaType}, {"digest", rec.digest}, {"size", text.size()}};
    // The whole name, as podman save and skopeo copy oci:DIR:NAME write it: podman load reads a
    // bare tag "12" as the image name localhost/12:latest.
    if (!ref.tag.empty()) desc["annotations"] = {{"org.opencontainers.image.ref.name", ref.str()}};
    json index{{"schemaVersion", 2}, {"mediaType", kMediaOciIndex}, {"manifests", json::array({desc})}};
    TRY(fs::writeFileAtomic(dir + "/oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}\n", 0644));
    return fs::writeFileAtomic(dir + "/index.json", index.dump() + "\n", 0644);
}

}  // namespace berth::images
