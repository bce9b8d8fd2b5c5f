#include <gtest/gtest.h>

#include <stdlib.h>

#include <cstdlib>
#include <map>
#include <string>

#include "common/fs.hpp"
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
