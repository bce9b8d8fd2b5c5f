#include <gtest/gtest.h>

#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <cstdlib>
#include <map>
#include <string>

#include "common/fs.hpp"
#include "common/unique_fd.hpp"
#include "vm/artifacts.hpp"
#include "vm/wire/cpio.hpp"

using namespace berth;
using namespace berth::vm;

namespace {
struct TempDir {
    std::string dir;
    TempDir() {
        char tmpl[] = "/tmp/berth-artifacts-XXXXXX";
        dir = ::mkdtemp(tmpl);
    }
    ~TempDir() { (void)std::system(("rm -rf " + dir).c_str()); }
};
}  // namespace

// The per-container initramfs is the boot archive (copied by copy_file_range) followed by the
// rootfs archive: both parse, in that order, as the kernel unpacks them.
TEST(VmArtifacts, RootfsInitrdIsTheBootArchiveThenTheRootfs) {
    TempDir t;
    wire::cpio::Writer boot;
    boot.addFile("init", "agent", 0755);
    std::string bootData = boot.finish();
    ASSERT_TRUE(fs::writeFileAtomic(t.dir + "/boot.cpio", bootData).ok());
    ASSERT_TRUE(fs::mkdirAll(t.dir + "/rootfs/bin").ok());
    ASSERT_TRUE(fs::writeFileAtomic(t.dir + "/rootfs/bin/sh", "busybox").ok());
    ASSERT_TRUE(makeRootfsInitrd(t.dir + "/boot.cpio", t.dir + "/rootfs", t.dir + "/out.cpio").ok());
    auto out = fs::readFile(t.dir + "/out.cpio");
    ASSERT_TRUE(out.ok());
    ASSERT_EQ(out->compare(0, bootData.size(), bootData), 0);
    auto second = wire::cpio::parse(out->substr(bootData.size()));
    ASSERT_TRUE(second.ok());
    std::map<std::string, std::string> files;
    for (auto& e : *second) files[e.name] = e.data;
    EXPECT_EQ(files["rootfs/bin/sh"], "busybox");
    // Made again over an older one: replaced, not appended to.
    ASSERT_TRUE(makeRootfsInitrd(t.dir + "/boot.cpio", t.dir + "/rootfs", t.dir + "/out.cpio").ok());
    EXPECT_EQ(fs::readFile(t.dir + "/out.cpio")->size(), out->size());
}

TEST(VmArtifacts, KernelThatCannotBeUnpackedBootsAsIs) {
    TempDir t;
    ASSERT_TRUE(fs::writeFileAtomic(t.dir + "/vmlinuz", "not a bzImage").ok());
    Kernel k{"test", t.dir + "/vmlinuz", t.dir};
    EXPECT_EQ(unpackedKernel(k, t.dir + "/cache"), t.dir + "/vmlinuz");
    EXPECT_FALSE(fs::exists(t.dir + "/cache/vmlinux-test"));
}

// Old initramfs directories go when a new one is built: only `<version>-<16 hex>` directories
// idle for longer than the limit, never the one just built, never one whose lock is held.
TEST(VmArtifacts, PruneRemovesOnlyIdleInitramfsDirectories) {
    char tmpl[] = "/tmp/berth-artifacts-prune-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    std::string root = tmpl;
    const int64_t now = 1'000'000'000;
    auto makeDir = [&](const std::string& name, int64_t mtime) {
        std::string d = root + "/" + name;
        ASSERT_TRUE(fs::mkdirAll(d, 0700).ok());
        ASSERT_TRUE(fs::writeFileAtomic(d + "/initramfs.cpio", "x", 0600).ok());
        ASSERT_TRUE(fs::writeFileAtomic(d + "/.lock", "", 0600).ok());
        struct timespec ts[2] = {{mtime, 0}, {mtime, 0}};
        ASSERT_EQ(::utimensat(AT_FDCWD, d.c_str(), ts, 0), 0);
    };
    makeDir("6.1.0-57-cloud-amd64-0123456789abcdef", now - 2 * 86400);  // idle: goes
    makeDir("6.1.0-57-amd64-00000000000000aa", now - 3 * 86400);        // idle: goes
    makeDir("6.1.0-57-cloud-amd64-fedcba9876543210", now - 60);         // used a minute ago
    makeDir("6.1.0-57-cloud-amd64-1111111111111111", now - 5 * 86400);  // the one just built
    makeDir("6.1.0-57-cloud-amd64-2222222222222222", now - 5 * 86400);  // its lock is held
    makeDir("agent-keys", now - 9 * 86400);                             // not an initramfs dir
    makeDir("6.1.0-57-cloud-amd64-XYZ", now - 9 * 86400);               // not <16 hex>
    UniqueFd held(::open((root + "/6.1.0-57-cloud-amd64-2222222222222222/.lock").c_str(), O_RDWR | O_CLOEXEC));
    ASSERT_TRUE(held);
    ASSERT_EQ(::flock(held.get(), LOCK_EX), 0);
    size_t n = pruneBootArtifacts(root, root + "/6.1.0-57-cloud-amd64-1111111111111111", 86400, now);
    EXPECT_EQ(n, 2u);
    EXPECT_FALSE(fs::exists(root + "/6.1.0-57-cloud-amd64-0123456789abcdef"));
    EXPECT_FALSE(fs::exists(root + "/6.1.0-57-amd64-00000000000000aa"));
    for (const char* kept : {"6.1.0-57-cloud-amd64-fedcba9876543210", "6.1.0-57-cloud-amd64-1111111111111111",
                             "6.1.0-57-cloud-amd64-2222222222222222", "agent-keys", "6.1.0-57-cloud-amd64-XYZ"})
        EXPECT_TRUE(fs::exists(root + "/" + kept)) << kept;
    EXPECT_EQ(pruneBootArtifacts(root + "/missing", "", 0, now), 0u);
    held.reset();
    (void)fs::removeAll(root);
}
