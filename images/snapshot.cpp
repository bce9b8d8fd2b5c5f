#include "images/snapshot.hpp"

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "common/fs.hpp"
#include "common/log.hpp"
#include "images/unpack.hpp"

namespace berth::images {

namespace {

struct Pending {
    size_t index;      // in the manifest's layers
    std::string tmp;   // where it is being unpacked
    std::vector<std::string> implicitDirs;
};

// Unpack the pending layers `jobs` at a time: they are independent dirs until the fix-up.
Status unpackAll(const Store& store, const Manifest& m, std::vector<Pending>& todo, int jobs) {
    std::atomic<size_t> next{0};
    std::atomic<bool> failed{false};
    std::mutex mu;
    Status first;
    auto worker = [&] {
        for (size_t i; !failed && (i = next++) < todo.size();) {
            const Descriptor& layer = m.layers[todo[i].index];
            log::debug("unpacking layer ", layer.digest, " into ", todo[i].tmp);
            auto r = unpackLayer(store.blobPath(layer.digest), todo[i].tmp);
            if (r) {
                todo[i].implicitDirs = std::move(*r);
                continue;
            }
            std::lock_guard<std::mutex> g(mu);
            if (first.ok()) first = std::move(r.error().context("layer ", layer.digest));
            failed = true;
        }
    };
    jobs = std::max(1, std::min<int>(jobs, static_cast<int>(todo.size())));
    std::vector<std::thread> threads;
    for (int i = 1; i < jobs; i++) threads.emplace_back(worker);
    worker();
    for (auto& t : threads) t.join();
    return first;
}

}  // namespace

Status ensureSnapshots(const Store& store, const Manifest& m, int jobs) {
    if (jobs <= 0) jobs = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    auto chain = chainIds(m);
    auto missing = [&] {
        for (const auto& c : chain)
            if (!fs::exists(store.snapshotPath(c))) return true;
        return false;
    };
    if (!missing()) return {};
    // One unpacker at a time per store: a second import of the same image waits and then
    // finds the snapshots made.
    ASSIGN_OR_RETURN(UniqueFd lock, lockFile(store.root() + "/locks/unpack.lock", true));
    if (!missing()) return {};
    std::vector<Pending> todo;
    std::vector<std::string> dirs;  // final or temp dir of each layer, bottom first
    for (size_t i = 0; i < chain.size(); i++) {
        std::string final = store.snapshotPath(chain[i]);
        dirs.push_back(final);
        if (fs::exists(final)) continue;
        todo.push_back({i, strCat(final, ".tmp.", ::getpid()), {}});
        dirs.back() = todo.back().tmp;
    }
    ScopeGuard cleanup([&] {
        for (const auto& p : todo) (void)fs::removeAll(p.tmp);
    });
    for (const auto& p : todo) {
        TRY(fs::removeAll(p.tmp));
        if (::mkdir(p.tmp.c_str(), 0755) < 0) return Error::fromErrno("mkdir ", p.tmp);
    }
    TRY(unpackAll(store, m, todo, jobs));
    // Bottom up, so a fixed-up dir can itself be the source for the layers above it.
    for (const auto& p : todo) {
        std::vector<std::string> lowers(dirs.rend() - static_cast<long>(p.index), dirs.rend());
        for (const auto& d : p.implicitDirs)
            TRY_CTX(inheritDirMetadata(lowers, p.tmp, d), "layer ", m.layers[p.index].digest);
    }
    for (const auto& p : todo) {
        std::string final = store.snapshotPath(chain[p.index]);
        if (::rename(p.tmp.c_str(), final.c_str()) < 0) return Error::fromErrno("rename ", p.tmp, " to ", final);
    }
    todo.clear();
    return {};
}

std::vector<std::string> lowerDirs(const Store& store, const Manifest& m) {
    std::vector<std::string> out;
    auto chain = chainIds(m);
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) out.push_back(store.snapshotPath(*it));
    return out;
}

Status mountOverlay(const std::vector<std::string>& lowers, const std::string& upper, const std::string& work,
                    const std::string& target) {
    std::string opts = "lowerdir=";
    for (size_t i = 0; i < lowers.size(); i++) {
        if (lowers[i].find_first_of(":,") != std::string::npos)
            return Error::make("overlay lower dir ", lowers[i], " contains ':' or ','");
        opts += (i ? ":" : "") + lowers[i];
    }
    unsigned long flags = 0;
    if (!upper.empty()) opts += ",upperdir=" + upper + ",workdir=" + work;
    else flags |= MS_RDONLY;
    // index=off and xino=off: the layers are shared by many mounts and must not be tied to one.
    opts += ",index=off,xino=off";
    if (opts.size() >= 4096)
        return Error::make("image has too many layers for one overlay mount (options ", opts.size(), " bytes)");
    if (::mount("overlay", target.c_str(), "overlay", flags, opts.c_str()) < 0)
        return Error::fromErrno("mount overlay on ", target);
    return {};
}

}  // namespace berth::images
