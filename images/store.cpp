#include "images/store.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include <nlohmann/json.hpp>

#include "common/fs.hpp"
#include "common/json.hpp"
#include "images/digest.hpp"

namespace berth::images {

using nlohmann::json;

std::string storeRoot(const std::string& flag) {
    if (!flag.empty()) return flag;
    const char* env = std::getenv("BERTH_STORE");
    if (env && *env) return env;
    return kDefaultStore;
}

Result<UniqueFd> lockFile(const std::string& path, bool exclusive) {
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!fd) return Error::fromErrno("open lock ", path);
    while (::flock(fd.get(), exclusive ? LOCK_EX : LOCK_SH) < 0) {
        if (errno != EINTR) return Error::fromErrno("flock ", path);
    }
    return fd;
}

Status Store::init() const {
    for (const char* sub : {"/blobs/sha256", "/tmp", "/snapshots", "/locks"})
        TRY_CTX(fs::mkdirAll(root_ + sub, 0700), "image store");
    return {};
}

std::string Store::blobPath(const std::string& digest) const {
    auto colon = digest.find(':');
    return root_ + "/blobs/" + digest.substr(0, colon) + "/" + digest.substr(colon + 1);
}

std::string Store::snapshotPath(const std::string& chainId) const {
    return root_ + "/snapshots/" + chainId.substr(chainId.find(":") + 1);
}

bool Store::hasBlob(const std::string& digest) const { return isDigest(digest) && fs::exists(blobPath(digest)); }

Result<std::string> Store::readBlob(const std::string& digest) const {
    TRY(parseDigest(digest));
    auto data = fs::readFile(blobPath(digest));
    if (!data) {
        if (data.error().err() == ENOENT) return Error(ENOENT, strCat("blob ", digest, " is not in the store")).hideErrno();
        return std::move(data).error();
    }
    if ("sha256:" + sha256Hex(*data) != digest) return Error::make("blob ", digest, " is corrupt in the store");
    return data;
}

Result<UniqueFd> Store::blobLock(const std::string& digest) const {
    ASSIGN_OR_RETURN(Digest d, parseDigest(digest));
    return lockFile(root_ + "/locks/" + d.hex + ".lock", true);
}

Result<UniqueFd> Store::gcLock(bool exclusive) const {
    TRY(init());
    return lockFile(root_ + "/locks/gc.lock", exclusive);
}

Status Store::commitTemp(const std::string& tmpPath, const std::string& expected) const {
    ScopeGuard drop([&] { ::unlink(tmpPath.c_str()); });
    ASSIGN_OR_RETURN(std::string hex, sha256OfFile(tmpPath));
    if ("sha256:" + hex != expected)
        return Error::make("digest mismatch: expected ", expected, ", content is sha256:", hex);
    {
        UniqueFd fd(::open(tmpPath.c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd || ::fsync(fd.get()) < 0) return Error::fromErrno("fsync ", tmpPath);
    }
    ::chmod(tmpPath.c_str(), 0444);
    if (::rename(tmpPath.c_str(), blobPath(expected).c_str()) < 0) return Error::fromErrno("rename into ", blobPath(expected));
    drop.dismiss();
    return {};
}

Result<std::string> Store::putBlob(const std::string& data, const std::string& expected) const {
    std::string digest = "sha256:" + sha256Hex(data);
    if (!expected.empty() && expected != digest)
        return Error::make("digest mismatch: expected ", expected, ", content is ", digest);
    if (hasBlob(digest)) return digest;
    ASSIGN_OR_RETURN(UniqueFd lock, blobLock(digest));
    if (hasBlob(digest)) return digest;
    std::string tmp = strCat(tmpDir(), "/put.", ::getpid(), ".", digest.substr(7, 16));
    TRY(fs::writeFileAtomic(tmp, data, 0444));
    if (::rename(tmp.c_str(), blobPath(digest).c_str()) < 0) {
        ::unlink(tmp.c_str());
        return Error::fromErrno("rename into ", blobPath(digest));
    }
    return digest;
}

Status Store::ingestFile(const std::string& path, const std::string& expected) const {
    TRY(parseDigest(expected));
    if (hasBlob(expected)) return {};
    ASSIGN_OR_RETURN(UniqueFd lock, blobLock(expected));
    if (hasBlob(expected)) return {};
    UniqueFd in(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!in) return Error::fromErrno("open ", path);
    std::string tmp = strCat(tmpDir(), "/ingest.", ::getpid(), ".", expected.substr(7, 16));
    UniqueFd out(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!out) return Error::fromErrno("create ", tmp);
    ScopeGuard drop([&] { ::unlink(tmp.c_str()); });
    std::string buf(1 << 20, '\0');
    for (;;) {
        ssize_t n = ::read(in.get(), buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return Error::fromErrno("read ", path);
        if (n == 0) break;
        if (::write(out.get(), buf.data(), n) != n) return Error::fromErrno("write ", tmp);
    }
    out.reset();
    drop.dismiss();
    return commitTemp(tmp, expected);
}

Result<std::map<std::string, std::string>> Store::loadIndex() const {
    std::map<std::string, std::string> idx;
    auto text = fs::readFile(root_ + "/images.json");
    if (!text) {
        if (text.error().err() == ENOENT) return idx;
        return std::move(text).error();
    }
    ASSIGN_OR_RETURN(json j, parseJson(*text, root_ + "/images.json"));
    try {
        for (auto& [name, rec] : j.at("images").items()) idx[name] = rec.at("digest").get<std::string>();
    } catch (const json::exception& e) {
        return Error::make("image index ", root_, "/images.json is corrupt: ", e.what());
    }
    return idx;
}

Status Store::saveIndex(const std::map<std::string, std::string>& idx) const {
    json j{{"images", json::object()}};
    for (const auto& [name, digest] : idx) j["images"][name] = {{"digest", digest}};
    return fs::writeFileAtomic(root_ + "/images.json", j.dump(2) + "\n", 0600);
}

Result<std::vector<ImageRecord>> Store::images() const {
    ASSIGN_OR_RETURN(auto idx, loadIndex());
    std::vector<ImageRecord> out;
    for (const auto& [n, d] : idx) out.push_back({n, d});
    return out;
}

Status Store::setImage(const std::string& name, const std::string& digest) const {
    TRY(init());
    ASSIGN_OR_RETURN(UniqueFd lock, lockFile(root_ + "/locks/images.lock", true));
    ASSIGN_OR_RETURN(auto idx, loadIndex());
    idx[name] = digest;
    return saveIndex(idx);
}

Status Store::removeImage(const std::string& name) const {
    ASSIGN_OR_RETURN(UniqueFd lock, lockFile(root_ + "/locks/images.lock", true));
    ASSIGN_OR_RETURN(auto idx, loadIndex());
    if (!idx.erase(name)) return Error(ENOENT, strCat("image \"", name, "\" is not in the store")).hideErrno();
    return saveIndex(idx);
}

Result<Manifest> Store::manifestOf(const std::string& digest) const {
    ASSIGN_OR_RETURN(std::string text, readBlob(digest));
    ASSIGN_OR_RETURN(DocKind kind, documentKind(text));
    if (kind == DocKind::Manifest) return parseManifest(text);
    ASSIGN_OR_RETURN(Index idx, parseIndex(text));
    ASSIGN_OR_RETURN(Descriptor d, selectPlatform(idx, Platform{}));
    return manifestOf(d.digest);
}

}  // namespace berth::images
