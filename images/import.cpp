// images/import: bringing images in from disk — OCI image layouts and docker-archives
// (`podman save`), as directories or tarballs. Blobs are verified as they enter the store and
// every layer is unpacked before the name is written, so a bad archive changes nothing.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>

#include "common/fs.hpp"
#include "common/json.hpp"
#include "images/dynlib.hpp"
#include "common/log.hpp"
#include "images/digest.hpp"
#include "images/images.hpp"
#include "images/layer_path.hpp"
#include "images/reference.hpp"
#include "images/snapshot.hpp"

namespace berth::images {

using nlohmann::json;

BlobTransaction::~BlobTransaction() {
    for (const auto& d : added_) ::unlink(store_.blobPath(d).c_str());
}

namespace {

Result<json> readJson(const std::string& path) {
    ASSIGN_OR_RETURN(std::string text, fs::readFile(path));
    return parseJson(text, path);
}

// Archive members are plain files and dirs (symlinks become hard links to what they name);
// names are cleaned like layer entries, so nothing lands outside dir.
Status extractArchive(const std::string& file, const std::string& dir) {
    TRY(loadArchiveApi());
    std::unique_ptr<archive, decltype(&archive_read_free)> a(la().archive_read_new(), la().archive_read_free);
    la().archive_read_support_filter_all(a.get());
    la().archive_read_support_format_tar(a.get());
    if (la().archive_read_open_filename(a.get(), file.c_str(), 1 << 20) != ARCHIVE_OK)
        return Error::make("open ", file, ": ", la().archive_error_string(a.get()));
    archive_entry* e;
    std::vector<std::pair<std::string, std::string>> links;
    for (;;) {
        int r = la().archive_read_next_header(a.get(), &e);
        if (r == ARCHIVE_EOF) break;
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN) return Error::make(file, ": not a valid tar archive: ", la().archive_error_string(a.get()));
        std::string raw = la().archive_entry_pathname(e) ? la().archive_entry_pathname(e) : "";
        auto path = cleanEntryPath(raw);
        if (!path) return Error::make(file, ": refusing member \"", raw, "\": ", path.error().message());
        if (path->empty()) continue;
        std::string dst = dir + "/" + *path;
        auto type = la().archive_entry_filetype(e);
        if (type == AE_IFDIR) {
            TRY(fs::mkdirAll(dst));
            continue;
        }
        TRY(fs::mkdirAll(dir + "/" + splitParent(*path).first));
        if (la().archive_entry_hardlink(e) || type == AE_IFLNK) {
            std::string target = la().archive_entry_hardlink(e) ? la().archive_entry_hardlink(e)
                                 : splitParent(*path).first + "/" + la().archive_entry_symlink(e);
            auto t = cleanEntryPath(fs::cleanPath("/" + target).substr(1));
            if (!t) return Error::make(file, ": refusing link \"", raw, "\"");
            links.emplace_back(dir + "/" + *t, dst);
            continue;
        }
        if (type != AE_IFREG) return Error::make(file, ": unexpected member type for \"", raw, "\"");
        UniqueFd fd(::open(dst.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
        if (!fd) return Error::fromErrno("create ", dst);
        if (la().archive_read_data_into_fd(a.get(), fd.get()) != ARCHIVE_OK)
            return Error::make(file, ": reading \"", raw, "\": ", la().archive_error_string(a.get()));
    }
    for (const auto& [target, dst] : links) {
        if (::link(target.c_str(), dst.c_str()) < 0) return Error::fromErrno("link ", dst, " to ", target);
    }
    return {};
}

// Bring one blob in from a file, remembering it if it is new.
Status ingest(const Store& store, BlobTransaction& tx, const std::string& path, const std::string& digest) {
    if (store.hasBlob(digest)) return {};
    if (!fs::exists(path)) return Error::make("blob ", digest, " is missing from the archive");
    TRY(store.ingestFile(path, digest));
    tx.added(digest);
    return {};
}

Result<std::string> ingestBytes(const Store& store, BlobTransaction& tx, const std::string& data) {
    std::string digest = "sha256:" + sha256Hex(data);
    bool had = store.hasBlob(digest);
    TRY(store.putBlob(data, digest));
    if (!had) tx.added(digest);
    return digest;
}

// A manifest or index and everything it names, from layout dir into the store; the
// manifests to unpack are collected in `manifests`.
Status ingestTree(const Store& store, BlobTransaction& tx, const std::string& layout, const Descriptor& d,
                  std::vector<Manifest>& manifests) {
    TRY(parseDigest(d.digest));
    std::string blobs = layout + "/blobs/sha256/";
    TRY(ingest(store, tx, blobs + d.digest.substr(7), d.digest));
    ASSIGN_OR_RETURN(std::string text, store.readBlob(d.digest));
    ASSIGN_OR_RETURN(DocKind kind, documentKind(text, d.mediaType));
    if (kind == DocKind::Index) {
        ASSIGN_OR_RETURN(Index idx, parseIndex(text));
        for (const auto& m : idx.manifests) TRY(ingestTree(store, tx, layout, m, manifests));
        return {};
    }
    ASSIGN_OR_RETURN(Manifest m, parseManifest(text));
    TRY(ingest(store, tx, blobs + m.config.digest.substr(7), m.config.digest));
    // Every unpack and inspect reads the config: one berth cannot read is refused now, not then.
    ASSIGN_OR_RETURN(std::string config, store.readBlob(m.config.digest));
    TRY_CTX(parseImageConfig(config), "config ", m.config.digest);
    for (const auto& l : m.layers) TRY(ingest(store, tx, blobs + l.digest.substr(7), l.digest));
    manifests.push_back(std::move(m));
    return {};
}

// The store name of an entry: the user's NAME, else the layout's ref.name; a bare tag becomes
// localhost/<archive name>:<tag>.
Result<std::string> entryName(const std::string& given, const std::string& refName, const std::string& path,
                              size_t count) {
    std::string n = given;
    if (n.empty()) {
        if (refName.empty()) return Error::make(path, ": image has no name; give one (berth image import PATH NAME)");
        if (refName.find('/') != std::string::npos || refName.find(':') != std::string::npos) {
            n = refName;
        } else {
            std::string base = fs::split(fs::cleanPath("/" + path), '/').back();
            base = base.substr(0, base.find('.'));
            for (auto& c : base) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            n = "localhost/" + (base.empty() ? std::string("image") : base) + ":" + refName;
        }
    } else if (count > 1 && !refName.empty() && given.find(':', given.rfind('/') + 1) == std::string::npos) {
        n = given + ":" + refName;
    }
    ASSIGN_OR_RETURN(Reference ref, parseReference(n));
    return ref.str();
}

Result<std::vector<ImageRecord>> importLayout(const Store& store, BlobTransaction& tx, const std::string& dir,
                                              const std::string& name, const std::string& shown,
                                              std::vector<Manifest>& manifests) {
    ASSIGN_OR_RETURN(json index, readJson(dir + "/index.json"));
    if (!index.contains("manifests") || !index["manifests"].is_array() || index["manifests"].empty())
        return Error::make(shown, ": index.json lists no manifests");
    ASSIGN_OR_RETURN(Index idx, parseIndex(index.dump()));
    std::vector<ImageRecord> out;
    for (const auto& d : idx.manifests) {
        auto it = d.annotations.find("org.opencontainers.image.ref.name");
        ASSIGN_OR_RETURN(std::string n, entryName(name, it == d.annotations.end() ? "" : it->second, shown,
                                                  idx.manifests.size()));
        TRY_CTX(ingestTree(store, tx, dir, d, manifests), shown);
        out.push_back({n, d.digest});
    }
    return out;
}

std::string layerMediaType(const std::string& path) {
    unsigned char magic[4] = {};
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd && ::read(fd.get(), magic, 4) == 4) {
        if (magic[0] == 0x1f && magic[1] == 0x8b) return kMediaOciLayerGzip;
        if (magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd) return kMediaOciLayerZstd;
    }
    return kMediaOciLayerTar;
}

// docker-archive: manifest.json [{Config, RepoTags, Layers}] beside the files it names. Each
// image becomes an OCI manifest written by us.
Result<std::vector<ImageRecord>> importDockerArchive(const Store& store, BlobTransaction& tx, const std::string& dir,
                                                     const std::string& name, const std::string& shown,
                                                     std::vector<Manifest>& manifests) {
    ASSIGN_OR_RETURN(json list, readJson(dir + "/manifest.json"));
    if (!list.is_array() || list.empty()) return Error::make(shown, ": manifest.json lists no images");
    std::vector<ImageRecord> out;
    try {
        for (const auto& entry : list) {
            auto file = [&](const std::string& rel) -> Result<std::string> {
                ASSIGN_OR_RETURN(std::string clean, cleanEntryPath(rel));
                return dir + "/" + clean;
            };
            ASSIGN_OR_RETURN(std::string cfgPath, file(entry.at("Config").get<std::string>()));
            ASSIGN_OR_RETURN(std::string cfgText, fs::readFile(cfgPath));
            ASSIGN_OR_RETURN(ImageConfig cfg, parseImageConfig(cfgText));
            ASSIGN_OR_RETURN(std::string cfgDigest, ingestBytes(store, tx, cfgText));
            json m{{"schemaVersion", 2}, {"mediaType", kMediaOciManifest},
                   {"config", {{"mediaType", kMediaOciConfig}, {"digest", cfgDigest}, {"size", cfgText.size()}}},
                   {"layers", json::array()}};
            for (const auto& l : entry.at("Layers")) {
                ASSIGN_OR_RETURN(std::string lp, file(l.get<std::string>()));
                ASSIGN_OR_RETURN(std::string hex, sha256OfFile(lp));
                TRY(ingest(store, tx, lp, "sha256:" + hex));
                struct stat st;
                if (::stat(lp.c_str(), &st) < 0) return Error::fromErrno("stat ", lp);
                m["layers"].push_back({{"mediaType", layerMediaType(lp)}, {"digest", "sha256:" + hex}, {"size", st.st_size}});
            }
            ASSIGN_OR_RETURN(std::string mDigest, ingestBytes(store, tx, m.dump()));
            ASSIGN_OR_RETURN(Manifest parsed, parseManifest(m.dump()));
            manifests.push_back(parsed);
            std::vector<std::string> tags;
            if (entry.contains("RepoTags") && entry["RepoTags"].is_array())
                for (const auto& t : entry["RepoTags"]) tags.push_back(t.get<std::string>());
            if (!name.empty()) tags = {name};
            if (tags.empty()) return Error::make(shown, ": image has no RepoTags; give a name (berth image import PATH NAME)");
            for (const auto& t : tags) {
                ASSIGN_OR_RETURN(Reference ref, parseReference(t));
                out.push_back({ref.str(), mDigest});
            }
        }
    } catch (const json::exception& e) {
        return Error::make(shown, ": bad manifest.json: ", e.what());
    }
    return out;
}

}  // namespace

Result<std::vector<ImageRecord>> importImage(const Store& store, const std::string& path, const std::string& name) {
    TRY(store.init());
    ASSIGN_OR_RETURN(UniqueFd gc, store.gcLock(false));
    struct stat st;
    if (::stat(path.c_str(), &st) < 0) return Error::fromErrno("import ", path);
    std::string dir = path;
    std::string tmp;
    ScopeGuard dropTmp([&] {
        if (!tmp.empty()) (void)fs::removeAll(tmp);
    });
    if (!S_ISDIR(st.st_mode)) {
        tmp = strCat(store.tmpDir(), "/import.", ::getpid());
        TRY(fs::removeAll(tmp));
        TRY(fs::mkdirAll(tmp, 0700));
        TRY(extractArchive(path, tmp));
        dir = tmp;
    }
    BlobTransaction tx(store);
    std::vector<Manifest> manifests;
    std::vector<ImageRecord> recs;
    if (fs::exists(dir + "/index.json")) {
        ASSIGN_OR_RETURN(recs, importLayout(store, tx, dir, name, path, manifests));
    } else if (fs::exists(dir + "/manifest.json")) {
        ASSIGN_OR_RETURN(recs, importDockerArchive(store, tx, dir, name, path, manifests));
    } else {
        return Error::make(path, ": neither an OCI layout (index.json) nor a docker-archive (manifest.json)");
    }
    for (const auto& m : manifests) TRY_CTX(ensureSnapshots(store, m), path);
    for (const auto& r : recs) TRY(store.setImage(r.name, r.digest));
    tx.commit();
    return recs;
}

}  // namespace berth::images
