#include "vm/module_sig.hpp"

#include <cstdint>

namespace berth::vm {
namespace {

constexpr std::string_view kMagic = "~Module signature appended~\n";
// include/linux/module_signature.h: algo, hash, id_type, signer_len, key_id_len, __pad[3],
// sig_len (big-endian) — 12 bytes before the magic.
constexpr size_t kInfoSize = 12;

}  // namespace

std::string_view moduleWithoutSignature(std::string_view ko) {
    if (ko.size() < kMagic.size() + kInfoSize || ko.substr(ko.size() - kMagic.size()) != kMagic) return ko;
    auto info = ko.substr(ko.size() - kMagic.size() - kInfoSize, kInfoSize);
    auto byte = [&](size_t i) { return static_cast<uint64_t>(static_cast<unsigned char>(info[i])); };
    uint64_t signerLen = byte(3), keyIdLen = byte(4);
    uint64_t sigLen = byte(8) << 24 | byte(9) << 16 | byte(10) << 8 | byte(11);
    uint64_t trailer = kMagic.size() + kInfoSize + sigLen + signerLen + keyIdLen;
    if (sigLen == 0 || trailer > ko.size()) return ko;
    return ko.substr(0, ko.size() - trailer);
}

bool unsignedModulesLoad(std::string_view config) {
    if (config.empty()) return false;
    for (size_t at = 0; (at = config.find("CONFIG_MODULE_SIG_FORCE=y", at)) != std::string_view::npos; at++)
        if (at == 0 || config[at - 1] == '\n') return false;
    return true;
}

}  // namespace berth::vm
