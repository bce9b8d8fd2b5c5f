// The appended signature of a kernel module (vm/module_sig): stripped only when its trailer adds up.
#include <gtest/gtest.h>

#include <string>

#include "vm/module_sig.hpp"

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

}  // namespace
}  // namespace berth::vm
