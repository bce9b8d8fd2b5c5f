#include "vm/artifacts.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>
#include <set>
#include <sstream>

#include "common/command.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "common/unique_fd.hpp"
#include "vm/module_sig.hpp"
#include "vm/wire/cpio.hpp"


namespace berth::vm {
namespace {

std::string moduleName(const std::string& koPath) {
    std::string base = koPath.substr(koPath.rfind('/') + 1);
    base = base.substr(0, base.find(".ko"));
    std::replace(base.begin(), base.end(), '-', '_');
    return base;
}

// Dotted numeric compare so 6.1.0-56 sorts after 6.1.0-9.
bool versionLess(const std::string& a, const std::string& b) {
    return ::strverscmp(a.c_str(), b.c_str()) < 0;
}

// Run argv; its stderr makes the error line.
Status runTool(const std::vector<std::string>& args) {
    ASSIGN_OR_RETURN(std::string out, runCommand(args));
    (void)out;
    return {};
}

// Bytes the files under dir take (blocks actually used), for sizing the image.
uint64_t treeBytes(const std::string& dir) {
    uint64_t total = 0;
    auto names = fs::listDir(dir);
    if (!names) return 0;
    for (auto& n : *names) {
        std::string p = dir + "/" + n;
        struct stat st;
        if (::lstat(p.c_str(), &st) < 0) continue;
        total += static_cast<uint64_t>(st.st_blocks) * 512 + 256;  // + inode-ish overhead
        if (S_ISDIR(st.st_mode)) total += treeBytes(p);
    }
    return total;
}

}  // namespace

const std::vector<std::string>& guestModules() {
    static const std::vector<std::string> m = {"virtio_mmio", "virtio_console"};
    return m;
}

const std::vector<std::string>& blockModules() {
    // ext4 looks up crc32c through the crypto API (metadata_csum; ENOENT at mount without it),
    // and there is no modprobe in the guest to load it on request.
    static const std::vector<std::string> m = {"virtio_blk", "crc32c_generic", "ext4"};
    return m;
}

const std::vector<std::string>& netModules() {
    static const std::vector<std::string> m = {"virtio_net"};
    return m;
}

const std::vector<std::string>& balloonModules() {
    static const std::vector<std::string> m = {"virtio_balloon"};
    return m;
}

const std::vector<std::string>& shareModules() {
    static const std::vector<std::string> m = {"9pnet_virtio", "9p"};
    return m;
}

Result<std::vector<std::string>> moduleLoadOrder(const std::string& modulesDep,
                                                 const std::vector<std::string>& wanted) {
    std::map<std::string, std::pair<std::string, std::vector<std::string>>> mods;  // name → path, deps
    std::istringstream in(modulesDep);
    std::string line;
    while (std::getline(in, line)) {
        auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string path = fs::trim(line.substr(0, colon));
        std::vector<std::string> deps;
        std::istringstream ds(line.substr(colon + 1));
        for (std::string d; ds >> d;) deps.push_back(d);
        mods[moduleName(path)] = {path, deps};
    }
    std::vector<std::string> order;
    std::set<std::string> done;
    // modules.dep lists the full transitive closure, the deepest dependency last: load in
    // reverse, then the module itself.
    for (auto& w : wanted) {
        auto it = mods.find(w);
        if (it == mods.end()) return Error(ENOENT, strCat("module ", w, " is not in modules.dep"));
        auto deps = it->second.second;
        for (auto d = deps.rbegin(); d != deps.rend(); ++d)
            if (done.insert(*d).second) order.push_back(*d);
        if (done.insert(it->second.first).second) order.push_back(it->second.first);
    }
    return order;
}

std::string sharesKernelsDir() {
    const char* d = std::getenv("BERTH_VM_KERNELS");
    return d && *d ? d : "/var/cache/berth/vm/kernels";
}

namespace {
Result<Kernel> findSharesKernel() {
    Kernel k;
    std::string dir = sharesKernelsDir();
    auto names = fs::listDir(dir);
    if (names)
        for (auto& n : *names)
            if (fs::exists(dir + "/" + n + "/vmlinux") && fs::exists(dir + "/" + n + "/modules/modules.dep") &&
                (k.version.empty() || versionLess(k.version, n)))
                k.version = n;
    if (k.version.empty())
        return Error(ENOENT, strCat("bind mounts in a VM need the generic kernel (9p) in ", dir,
                                    ": run scripts/setup.sh")).hideErrno();
    k.image = dir + "/" + k.version + "/vmlinux";
    k.modulesDir = dir + "/" + k.version + "/modules";
    return k;
}
}  // namespace

Result<Kernel> findKernel(bool shares) {
    if (shares) return findSharesKernel();
    Kernel k;
    if (const char* v = std::getenv("BERTH_VM_KERNEL_VERSION"); v && *v) {
        k.version = v;
    } else {
        auto names = fs::listDir("/lib/modules");
        if (names)
            for (auto& n : *names)
                if (n.size() > 12 && n.compare(n.size() - 12, 12, "-cloud-amd64") == 0 &&
                    fs::exists("/boot/vmlinuz-" + n) && (k.version.empty() || versionLess(k.version, n)))
                    k.version = n;
        if (k.version.empty())
            return Error(ENOENT, "no cloud kernel for the VM (apt-get install linux-image-cloud-amd64)");
    }
    k.image = "/boot/vmlinuz-" + k.version;
    k.modulesDir = "/lib/modules/" + k.version;
    if (!fs::exists(k.image)) return Error(ENOENT, strCat("VM kernel ", k.image, " not found"));
    return k;
}

Result<std::string> findAgent() {
    if (const char* a = std::getenv("BERTH_VM_AGENT"); a && *a) return std::string(a);
    char self[4096];
    ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
    if (n < 0) return Error::fromErrno("readlink /proc/self/exe");
    std::string dir(self, static_cast<size_t>(n));
    dir = dir.substr(0, dir.rfind('/'));
    for (auto& c : {dir + "/berth-agent", dir + "/../vm/berth-agent", dir + "/../libexec/berth/berth-agent"})
        if (::access(c.c_str(), X_OK) == 0) return fs::cleanPath(c);
    return Error(ENOENT, strCat("berth-agent not found beside ", dir, " (set BERTH_VM_AGENT)"));
}

uint64_t fnv1a(const std::string& data, uint64_t h) {
    for (unsigned char c : data) h = (h ^ c) * 1099511628211ull;
    return h;
}

namespace {
// The .ko files of `order` into lib/modules/; their names, one a line, as the agent loads them.
Result<std::string> addModules(wire::cpio::Writer& w, const Kernel& k, const std::vector<std::string>& order, bool unsignedModules) {
    std::string list;
    for (auto& rel : order) {
        // Debian 12 ships these uncompressed; a .ko.xz would need unpacking here first.
        if (rel.size() < 3 || rel.compare(rel.size() - 3, 3, ".ko") != 0)
            return Error(ENOTSUP, strCat("module ", rel, ": only uncompressed .ko files are supported"));
        ASSIGN_OR_RETURN(std::string ko, fs::readFile(k.modulesDir + "/" + rel));
        std::string base = rel.substr(rel.rfind('/') + 1);
        w.addFile("lib/modules/" + base, unsignedModules ? std::string(moduleWithoutSignature(ko)) : ko, 0644);
        list += base + "\n";
    }
    return list;
}

// A list of modules loaded on demand, without what `base` already loads; modules built into
// this kernel (not in modules.dep: ext4 in the cloud kernel) are left out.
Status addModuleGroup(wire::cpio::Writer& w, const Kernel& k, const std::string& dep, const std::vector<std::string>& base,
                      const std::vector<std::string>& wanted, const std::string& listName, bool unsignedModules) {
    std::vector<std::string> present;
    for (auto& m : wanted)
        if (dep.find("/" + m + ".ko:") != std::string::npos) present.push_back(m);
    ASSIGN_OR_RETURN(auto order, moduleLoadOrder(dep, present));
    std::erase_if(order, [&](const std::string& p) { return std::find(base.begin(), base.end(), p) != base.end(); });
    ASSIGN_OR_RETURN(std::string list, addModules(w, k, order, unsignedModules));
    w.addFile("lib/modules/" + listName, list, 0644);
    return {};
}
}  // namespace

bool hasBalloonModule(const Kernel& k) {
    // Its path in both Debian kernels (a stat per create, not a parse of modules.dep); what it
    // needs, virtio and virtio_ring, the base list loads already.
    return fs::exists(k.modulesDir + "/kernel/drivers/virtio/virtio_balloon.ko");
}

bool modulesMayBeUnsigned(const Kernel& k) {
    auto slash = k.modulesDir.rfind('/');
    for (const std::string& path : {"/boot/config-" + k.version, k.modulesDir.substr(0, slash == std::string::npos ? 0 : slash) + "/config"})
        if (auto config = fs::readFile(path)) return unsignedModulesLoad(*config);
    return false;
}

Result<std::string> buildInitramfs(const Kernel& k, const std::string& agentBinary, bool unsignedModules) {
    ASSIGN_OR_RETURN(std::string dep, fs::readFile(k.modulesDir + "/modules.dep"));
    ASSIGN_OR_RETURN(auto order, moduleLoadOrder(dep, guestModules()));
    ASSIGN_OR_RETURN(std::string agent, fs::readFile(agentBinary));
    wire::cpio::Writer w;
    for (auto* d : {"dev", "proc", "sys", "rootfs", "lib", "lib/modules"}) w.addDirectory(d);
    // The kernel opens /dev/console for init's stdio before devtmpfs is mounted.
    w.addCharDevice("dev/console", 5, 1, 0600);
    w.addFile("init", agent, 0755);
    ASSIGN_OR_RETURN(std::string list, addModules(w, k, order, unsignedModules));
    w.addFile("lib/modules/load", list, 0644);
    TRY(addModuleGroup(w, k, dep, order, blockModules(), "load-block", unsignedModules));
    TRY(addModuleGroup(w, k, dep, order, netModules(), "load-net", unsignedModules));
    if (hasBalloonModule(k)) TRY(addModuleGroup(w, k, dep, order, balloonModules(), "load-balloon", unsignedModules));
    if (dep.find("/9p.ko:") != std::string::npos)
        TRY(addModuleGroup(w, k, dep, order, shareModules(), "load-shares", unsignedModules));
    return w.finish();
}

namespace {
std::string hex16(uint64_t v) {
    char key[17];
    std::snprintf(key, sizeof key, "%016llx", static_cast<unsigned long long>(v));
    return key;
}

// The initramfs's cache key hashes the agent's bytes (~3 MB: tens of ms per create on a busy
// host). The agent's identity on disk (path, inode, size, mtime, ctime) names a small file that
// remembers that key, so a create reads a few bytes instead; a rebuilt agent is a new name.
Result<std::string> agentKey(const std::string& cacheRoot, const std::string& agentPath, const std::string& lists) {
    struct stat st;
    if (::stat(agentPath.c_str(), &st) < 0) return Error::fromErrno("stat ", agentPath);
    std::string id = strCat(agentPath, "\n", st.st_dev, " ", st.st_ino, " ", st.st_size, " ", st.st_mtim.tv_sec, ".",
                            st.st_mtim.tv_nsec, " ", st.st_ctim.tv_sec, ".", st.st_ctim.tv_nsec, "\n", lists);
    std::string memo = cacheRoot + "/agent-keys/" + hex16(fnv1a(id));
    if (auto k = fs::readFile(memo); k && k->size() == 16) return *k;
    ASSIGN_OR_RETURN(std::string agent, fs::readFile(agentPath));
    std::string key = hex16(fnv1a(lists, fnv1a(agent)));
    if (fs::mkdirAll(cacheRoot + "/agent-keys", 0700)) (void)fs::writeFileAtomic(memo, key, 0600);
    return key;
}
}  // namespace

Result<BootArtifacts> ensureBootArtifacts(const std::string& cacheRoot, bool shares) {
    BootArtifacts a;
    ASSIGN_OR_RETURN(a.kernel, findKernel(shares));
    ASSIGN_OR_RETURN(std::string agentPath, findAgent());
    // The module lists are part of what is built: a new list must not reuse an old initramfs.
    std::string lists;
    for (auto* group : {&guestModules(), &blockModules(), &shareModules(), &netModules(), &balloonModules()})
        for (auto& m : *group) lists += m + "\n";
    a.balloon = hasBalloonModule(a.kernel);  // part of what is built: a kernel dir that gains it is a new initramfs
    if (a.balloon) lists += "balloon\n";
    bool unsignedModules = modulesMayBeUnsigned(a.kernel);  // likewise
    if (unsignedModules) lists += "unsigned modules\n";
    ASSIGN_OR_RETURN(std::string key, agentKey(cacheRoot, agentPath, lists));
    if (!shares) a.kernel.image = unpackedKernel(a.kernel, cacheRoot);
    a.cacheDir = cacheRoot + "/" + a.kernel.version + "-" + key;
    a.initramfs = a.cacheDir + "/initramfs.cpio";
    if (fs::exists(a.initramfs)) {
        (void)::utimensat(AT_FDCWD, a.cacheDir.c_str(), nullptr, 0);  // in use: not pruned
        return a;
    }
    TRY(fs::mkdirAll(a.cacheDir, 0700));
    UniqueFd lock(::open((a.cacheDir + "/.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!lock || ::flock(lock.get(), LOCK_EX) < 0) return Error::fromErrno("lock ", a.cacheDir);
    if (fs::exists(a.initramfs)) return a;  // another berth built it while we waited
    log::debug("vm: building ", a.initramfs, " from ", agentPath, " and ", a.kernel.modulesDir);
    ASSIGN_OR_RETURN(std::string data, buildInitramfs(a.kernel, agentPath, unsignedModules));
    TRY(fs::writeFileAtomic(a.initramfs, data, 0600));
    size_t pruned = pruneBootArtifacts(cacheRoot, a.cacheDir, kArtifactMaxIdleSeconds, ::time(nullptr));
    if (pruned) log::debug("vm: removed ", pruned, " initramfs directories unused for a day");
    return a;
}

size_t pruneBootArtifacts(const std::string& cacheRoot, const std::string& keep, int64_t maxIdleSeconds, int64_t now) {
    auto names = fs::listDir(cacheRoot);
    if (!names) return 0;
    size_t removed = 0;
    for (const auto& name : *names) {
        // Only what ensureBootArtifacts makes: <kernel version>-<16 hex digits>.
        size_t dash = name.rfind('-');
        if (dash == std::string::npos || dash == 0 || name.size() - dash - 1 != 16 ||
            name.find_first_not_of("0123456789abcdef", dash + 1) != std::string::npos)
            continue;
        std::string dir = cacheRoot + "/" + name;
        if (dir == keep) continue;
        struct stat st;
        if (::lstat(dir.c_str(), &st) < 0 || !S_ISDIR(st.st_mode)) continue;
        if (now - static_cast<int64_t>(st.st_mtime) < maxIdleSeconds) continue;
        // A build in progress holds the lock: leave that directory alone.
        UniqueFd lock(::open((dir + "/.lock").c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW));
        if (lock && ::flock(lock.get(), LOCK_EX | LOCK_NB) < 0) continue;
        if (fs::removeAll(dir)) removed++;
    }
    return removed;
}

namespace {
// bzImage → the ELF it carries, by `lz4 -d` of the payload from its LZ4 (legacy frame) magic on.
Status unpackBzImage(const std::string& bzImage, const std::string& out) {
    ASSIGN_OR_RETURN(std::string bz, fs::readFile(bzImage));
    size_t at = bz.find(std::string("\x02\x21\x4c\x18", 4));
    if (at == std::string::npos) return Error(ENOTSUP, strCat(bzImage, ": no LZ4 payload"));
    std::string payload = out + ".lz4";
    TRY(fs::writeFileAtomic(payload, bz.substr(at), 0600));
    ScopeGuard rmPayload([&] { ::unlink(payload.c_str()); });
    std::string tmp = out + ".new";
    Status st = runTool({"lz4", "-d", "-f", "-q", payload, tmp});
    char head[4] = {};
    if (UniqueFd fd(::open(tmp.c_str(), O_RDONLY | O_CLOEXEC)); fd) (void)!::read(fd.get(), head, sizeof head);
    if (std::memcmp(head, "\x7f" "ELF", 4) != 0) {
        ::unlink(tmp.c_str());
        return st ? Error(EINVAL, strCat(bzImage, ": the LZ4 payload is not an ELF kernel")) : st;
    }
    if (::rename(tmp.c_str(), out.c_str()) < 0) return Error::fromErrno("rename ", tmp);
    return {};
}
}  // namespace

std::string unpackedKernel(const Kernel& k, const std::string& cacheRoot) {
    std::string out = cacheRoot + "/vmlinux-" + k.version;
    if (fs::exists(out)) return out;
    if (!fs::mkdirAll(cacheRoot, 0700)) return k.image;
    UniqueFd lock(::open((cacheRoot + "/.vmlinux.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!lock || ::flock(lock.get(), LOCK_EX) < 0) return k.image;
    if (fs::exists(out)) return out;
    if (Status st = unpackBzImage(k.image, out); !st) {
        log::debug("vm: booting ", k.image, " as is (", st.error().what(), ")");
        return k.image;
    }
    return out;
}

Status makeRootfsImage(const std::string& rootfs, const std::string& image) {
    // Room for the files, ext4's metadata and what the workload writes (the image is private).
    uint64_t mib = treeBytes(rootfs) / (1 << 20) * 5 / 4 + 64;
    return runTool({"mkfs.ext4", "-q", "-F", "-O", "^has_journal", "-E", "root_owner=0:0", "-d", rootfs,
                    image, strCat(mib, "M")});
}

namespace {
// The boot initramfs into `to` by copy_file_range (in the kernel; shared extents where the file
// system can), else by read and write.
Status copyBootInitramfs(const std::string& from, int to) {
    UniqueFd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC));
    if (!in) return Error::fromErrno("open ", from);
    for (;;) {
        ssize_t n = ::copy_file_range(in.get(), nullptr, to, nullptr, size_t{1} << 30, 0);
        if (n == 0) return {};
        if (n > 0) continue;
        if (errno != EXDEV && errno != ENOSYS && errno != EINVAL && errno != EOPNOTSUPP)
            return Error::fromErrno("copy ", from);
        break;
    }
    ASSIGN_OR_RETURN(std::string rest, fs::readFile(from));
    off_t done = ::lseek(in.get(), 0, SEEK_CUR);
    rest.erase(0, static_cast<size_t>(std::max<off_t>(done, 0)));
    for (size_t off = 0; off < rest.size();) {
        ssize_t n = ::write(to, rest.data() + off, rest.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return Error::fromErrno("write the rootfs initramfs");
        off += static_cast<size_t>(n);
    }
    return {};
}
}  // namespace

Status makeRootfsInitrd(const std::string& bootInitramfs, const std::string& rootfs, const std::string& out) {
    wire::cpio::Writer w;
    TRY(w.addTree(rootfs, "rootfs"));
    std::string tail = w.finish();
    // A private file of the container, removed with its state dir: no fsync, no rename.
    UniqueFd fd(::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!fd) return Error::fromErrno("open ", out);
    TRY(copyBootInitramfs(bootInitramfs, fd.get()));
    for (size_t off = 0; off < tail.size();) {
        ssize_t n = ::write(fd.get(), tail.data() + off, tail.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return Error::fromErrno("write ", out);
        off += static_cast<size_t>(n);
    }
    return {};
}

}  // namespace berth::vm
