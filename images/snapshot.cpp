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

Status ensureOne(const Store& store, const Descriptor& layer) {
    std::string final = store.snapshotPath(layer.digest);
    if (fs::exists(final)) return {};
    // Two processes unpacking the same layer: the second waits, then finds it done.
    ASSIGN_OR_RETURN(UniqueFd lock, lockFile(store.root() + "/locks/" + layer.digest.substr(7) + ".unpack", true));
    if (fs::exists(final)) return {};
    std::string tmp = strCat(final, ".tmp.", ::getpid(), ".", std::hash<std::thread::id>{}(std::this_thread::get_id()) % 100000);
    TRY(fs::removeAll(tmp));
    if (::mkdir(tmp.c_str(), 0755) < 0) return Error::fromErrno("mkdir ", tmp);
    ScopeGuard cleanup([&] { (void)fs::removeAll(tmp); });
    log::debug("unpacking layer ", layer.digest, " into ", tmp);
    TRY_CTX(unpackLayer(store.blobPath(layer.digest), tmp), "layer ", layer.digest);
    if (::rename(tmp.c_str(), final.c_str()) < 0) return Error::fromErrno("rename ", tmp, " to ", final);
    cleanup.dismiss();
    return {};
}

}  // namespace

Status ensureSnapshots(const Store& store, const Manifest& m, int jobs) {
    if (jobs <= 0) jobs = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    jobs = std::min<int>(jobs, static_cast<int>(m.layers.size()));
    // Layers are independent dirs (whiteouts are overlay's business), so they unpack in
    // parallel; the first error wins and the rest stop picking up work.
    std::atomic<size_t> next{0};
    std::atomic<bool> failed{false};
    std::mutex mu;
    Status first;
    auto worker = [&] {
        for (size_t i; !failed && (i = next++) < m.layers.size();) {
            Status st = ensureOne(store, m.layers[i]);
            if (!st) {
                std::lock_guard<std::mutex> g(mu);
                if (first.ok()) first = std::move(st);
                failed = true;
            }
        }
    };
    std::vector<std::thread> threads;
    for (int i = 1; i < jobs; i++) threads.emplace_back(worker);
    worker();
    for (auto& t : threads) t.join();
    return first;
}

std::vector<std::string> lowerDirs(const Store& store, const Manifest& m) {
    std::vector<std::string> out;
    for (auto it = m.layers.rbegin(); it != m.layers.rend(); ++it) out.push_back(store.snapshotPath(it->digest));
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
