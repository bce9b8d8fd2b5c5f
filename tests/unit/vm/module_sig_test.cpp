// The appended signature of a kernel module (vm/module_sig): stripped only when its trailer adds up.
#include <gtest/gtest.h>

#include <stdlib.h>

#include <map>
#include <string>

#include "common/fs.hpp"
#include "vm/artifacts.hpp"
#include "vm/module_sig.hpp"
#include "vm/wire/cpio.hpp"

namespace berth::vm {
namespace {

const std::string kMagic = "~Module signature appended~\n";

// What scripts/sign-file appends: the signature, struct module_signature, the magic.
std::string signedModule(const std::string& body, const std::string& sig, unsigned char signerLen = 0,
                         unsigned char keyIdLen = 0, std::string extra = "") {
    std::string info(12, '\0');
    info[2] = 2;  // PKEY_ID_PKCS7
    info[3] = static_cast<char>(signerLen);
    info[4] = static_cast<char>(keyIdLen);
    uint32_t n = static_cast<uint32_t>(sig.size());
    info[8] = static_cast<char>(n >> 24);
    info[9] = static_cast<char>(n >> 16);
    info[10] = static_cast<char>(n >> 8);
    info[11] = static_cast<char>(n);
    return body + extra + sig + info + kMagic;
}

TEST(ModuleSig, StripsTheAppendedSignature) {
    std::string body = std::string("\x7f" "ELF", 4) + std::string(1000, 'x');
    EXPECT_EQ(moduleWithoutSignature(signedModule(body, std::string(681, 's'))), body);
    // Signer name and key id (the old format) are part of the trailer too.
    EXPECT_EQ(moduleWithoutSignature(signedModule(body, "sig", 3, 2, "abcde")), body);
}

TEST(ModuleSig, LeavesAModuleWithoutOneAlone) {
    std::string body = std::string("\x7f" "ELF", 4) + std::string(100, 'y');
    EXPECT_EQ(moduleWithoutSignature(body), body);
    EXPECT_EQ(moduleWithoutSignature(""), "");
    EXPECT_EQ(moduleWithoutSignature(kMagic), kMagic);  // too short for the info block
}

TEST(ModuleSig, RefusesATrailerThatDoesNotAddUp) {
    // A signature length past the start of the file, or none: the module is kept as it is.
    std::string tooLong = signedModule("abc", std::string(10, 's'));
    tooLong.erase(0, 5);  // now shorter than the trailer says
    EXPECT_EQ(moduleWithoutSignature(tooLong), tooLong);
    std::string empty = signedModule("abc", "");
    EXPECT_EQ(moduleWithoutSignature(empty), empty);
    std::string huge = signedModule("abc", "s");
    huge[huge.size() - kMagic.size() - 4] = '\xff';  // sig_len's top byte: 4 GiB
    EXPECT_EQ(moduleWithoutSignature(huge), huge);
}

TEST(ModuleSig, UnsignedModulesLoadUnlessForced) {
    EXPECT_TRUE(unsignedModulesLoad("CONFIG_MODULE_SIG=y\n# CONFIG_MODULE_SIG_FORCE is not set\n"));
    EXPECT_FALSE(unsignedModulesLoad("CONFIG_MODULE_SIG=y\nCONFIG_MODULE_SIG_FORCE=y\n"));
    EXPECT_FALSE(unsignedModulesLoad("CONFIG_MODULE_SIG_FORCE=y\n"));
    EXPECT_FALSE(unsignedModulesLoad(""));  // unknown config: keep the signatures
    EXPECT_TRUE(unsignedModulesLoad("XCONFIG_MODULE_SIG_FORCE=y\n"));
}

// The initramfs carries the modules unsigned only when asked (modulesMayBeUnsigned: the guest
// kernel's config beside its modules allows it); the agent and the lists are the same either way.
TEST(ModuleSig, InitramfsStripsTheModulesOnlyWhenTheKernelLoadsThemUnsigned) {
    char tmpl[] = "/tmp/berth-modsig-XXXXXX";
    std::string root = ::mkdtemp(tmpl);
    std::string dir = root + "/modules";
    ASSERT_TRUE(fs::mkdirAll(dir + "/kernel").ok());
    ASSERT_TRUE(fs::writeFileAtomic(dir + "/modules.dep",
                                    "kernel/virtio_ring.ko:\nkernel/virtio.ko:\n"
                                    "kernel/virtio_mmio.ko: kernel/virtio.ko kernel/virtio_ring.ko\n"
                                    "kernel/virtio_console.ko: kernel/virtio.ko kernel/virtio_ring.ko\n").ok());
    for (auto* m : {"virtio_ring", "virtio", "virtio_mmio", "virtio_console"})
        ASSERT_TRUE(fs::writeFileAtomic(dir + "/kernel/" + m + ".ko", signedModule(std::string("ELF ") + m, "sig")).ok());
    ASSERT_TRUE(fs::writeFileAtomic(root + "/agent", "agent").ok());
    Kernel k{"berth-test-no-such-version", "/k", dir};
    auto modules = [&](bool unsignedModules) {
        std::map<std::string, std::string> out;
        auto data = buildInitramfs(k, root + "/agent", unsignedModules);
        EXPECT_TRUE(data.ok());
        if (!data.ok()) return out;
        auto entries = wire::cpio::parse(*data);
        EXPECT_TRUE(entries.ok());
        if (entries.ok())
            for (auto& e : *entries)
                if (e.name.size() > 3 && e.name.compare(e.name.size() - 3, 3, ".ko") == 0) out[e.name] = e.data;
        return out;
    };
    auto kept = modules(false), stripped = modules(true);
    ASSERT_EQ(kept.size(), 4u);
    ASSERT_EQ(stripped.size(), 4u);
    EXPECT_EQ(kept["lib/modules/virtio.ko"], signedModule("ELF virtio", "sig"));
    EXPECT_EQ(stripped["lib/modules/virtio.ko"], "ELF virtio");
    EXPECT_EQ(stripped["lib/modules/virtio_console.ko"], "ELF virtio_console");
    // The kernel's config decides: none found keeps the signatures, FORCE keeps them too.
    EXPECT_FALSE(modulesMayBeUnsigned(k));
    ASSERT_TRUE(fs::writeFileAtomic(root + "/config", "CONFIG_MODULE_SIG=y\n").ok());
    EXPECT_TRUE(modulesMayBeUnsigned(k));
    ASSERT_TRUE(fs::writeFileAtomic(root + "/config", "CONFIG_MODULE_SIG=y\nCONFIG_MODULE_SIG_FORCE=y\n").ok());
    EXPECT_FALSE(modulesMayBeUnsigned(k));
    (void)std::system(("rm -rf " + root).c_str());
}

}  // namespace
}  // namespace berth::vm
