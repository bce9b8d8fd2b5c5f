// images/digest: content digests — parsing and validating "sha256:<hex>" strings and computing
// sha256 over memory, files and streams (libcrypto), the identity of everything in the store.
#pragma once

#include <openssl/evp.h>

#include <memory>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace berth::images {

struct Digest {
    std::string algorithm;  // only "sha256" is accepted
    std::string hex;        // 64 lowercase hex digits

    std::string str() const { return algorithm + ":" + hex; }
    bool operator==(const Digest& o) const = default;
};

// "sha256:<64 lowercase hex>"; anything else (other algorithms, upper case, short) is an error.
Result<Digest> parseDigest(std::string_view s);
bool isDigest(std::string_view s);

// Incremental sha256.
class Sha256 {
public:
    Sha256();
    void update(const void* data, size_t n);
    std::string hexDigest();  // finalizes

private:
    std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx_;
};

std::string sha256Hex(std::string_view data);
// libcrypto is loaded on first use (images/dynlib.hpp); aborts with a message if it cannot be.
void requireCrypto();
// sha256 of a whole file, read from the start.
Result<std::string> sha256OfFile(const std::string& path);

}  // namespace berth::images
