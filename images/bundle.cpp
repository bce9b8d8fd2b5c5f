#include "images/bundle.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>

#include "common/fs.hpp"
#include "common/log.hpp"
#include "images/bundle_config.hpp"
#include "images/images.hpp"
#include "images/snapshot.hpp"

namespace berth::images {

namespace {

constexpr const char* kMarker = "/.berth-image";

// A file of the image read as the container would see it: symlinks resolved inside rootfs.
std::string readInRoot(const std::string& rootfs, const char* path) {
    UniqueFd root(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) return "";
    struct open_how how = {};
    how.flags = O_RDONLY | O_CLOEXEC;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    UniqueFd fd(static_cast<int>(::syscall(SYS_openat2, root.get(), path, &how, sizeof how)));
    if (!fd) return "";
    std::string out, buf(65536, '\0');
    ssize_t n;
    while ((n = ::read(fd.get(), buf.data(), buf.size())) > 0 && out.size() < (16u << 20)) out.append(buf.data(), n);
    return out;
}

Status writeConfig(const ResolvedImage& img, const BundleRequest& req, const std::string& rootfs) {
    ASSIGN_OR_RETURN(UserIds ids, resolveUser(img.config.user, readInRoot(rootfs, "etc/passwd"),
                                              readInRoot(rootfs, "etc/group")));
    ASSIGN_OR_RETURN(nlohmann::json spec,
                     specFromImage(img.config, req.baseSpec, ids, req.args, req.baseCommandIfNone));
    for (auto& [k, v] : req.extraAnnotations.items()) spec["annotations"][k] = v;
    return fs::writeFileAtomic(req.dir + "/config.json", spec.dump(1, '\t') + "\n", 0644);
}

}  // namespace

bool isImageBundle(const std::string& dir) { return fs::exists(dir + kMarker); }

Result<BundleMade> createBundle(const Store& store, const BundleRequest& req) {
    if (req.dir.empty()) return Error::make("bundle: no directory given");
    ASSIGN_OR_RETURN(UniqueFd gc, store.gcLock(false));
    ASSIGN_OR_RETURN(ResolvedImage img, resolveImage(store, req.image));
    if (::mkdir(req.dir.c_str(), 0711) < 0) {
        if (errno == EEXIST) return Error(EEXIST, strCat("bundle directory ", req.dir, " already exists")).hideErrno();
        return Error::fromErrno("mkdir ", req.dir);
    }
    ScopeGuard removeDir([&] { (void)fs::removeAll(req.dir); });
    std::string priv = req.dir + kMarker, rootfs = req.dir + "/rootfs";
    for (const auto& d : {priv, priv + "/upper", priv + "/work", rootfs})
        if (::mkdir(d.c_str(), 0755) < 0) return Error::fromErrno("mkdir ", d);
    TRY(fs::writeFileAtomic(priv + "/image", img.record.name + "\n" + img.record.digest + "\n", 0644));
    // overlay: one shared copy of the layers for every container. Where the kernel has no
    // overlay (or refuses this upper dir's filesystem), a private full copy instead.
    // BERTH_IMAGE_NO_OVERLAY=1 forces the copy (tests, and hosts whose overlay misbehaves).
    auto lowers = lowerDirs(store, img.manifest);
    const char* noOverlay = std::getenv("BERTH_IMAGE_NO_OVERLAY");
    Status mounted = noOverlay && std::string(noOverlay) == "1"
                         ? Status(Error(ENODEV, "overlay disabled by BERTH_IMAGE_NO_OVERLAY"))
                         : mountOverlay(lowers, priv + "/upper", priv + "/work", rootfs);
    if (!mounted) {
        int err = mounted.error().err();
        if (err != ENODEV && err != EINVAL && err != EOPNOTSUPP) return std::move(mounted).error();
        log::debug("bundle: ", mounted.error().what(), "; copying the layers instead");
        TRY(copyLayers(lowers, rootfs));
    }
    ScopeGuard unmount([&] { ::umount2(rootfs.c_str(), MNT_DETACH); });
    TRY_CTX(writeConfig(img, req, rootfs), "image ", img.record.name);
    unmount.dismiss();
    removeDir.dismiss();
    return BundleMade{img.config.entrypoint.empty() && img.config.cmd.empty() && req.args.empty()};
}

Status removeBundle(const std::string& dir) {
    if (!fs::exists(dir)) return Error(ENOENT, strCat("bundle ", dir, " does not exist")).hideErrno();
    if (!isImageBundle(dir)) return Error::make(dir, " is not a bundle made by berth bundle");
    std::string rootfs = dir + "/rootfs";
    if (::umount2(rootfs.c_str(), UMOUNT_NOFOLLOW | MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
        return Error::fromErrno("unmount ", rootfs);
    return fs::removeAll(dir);
}

}  // namespace berth::images
