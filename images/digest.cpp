#include "images/digest.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "common/unique_fd.hpp"
#include "images/dynlib.hpp"

namespace berth::images {

Result<Digest> parseDigest(std::string_view s) {
    auto colon = s.find(':');
    if (colon == std::string_view::npos) return Error::make("invalid digest \"", s, "\": no algorithm");
    std::string_view algo = s.substr(0, colon), hex = s.substr(colon + 1);
    if (algo != "sha256") return Error::make("unsupported digest algorithm \"", algo, "\" in \"", s, "\"");
    if (hex.size() != 64) return Error::make("invalid digest \"", s, "\": want 64 hex digits");
    for (char c : hex) {
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return Error::make("invalid digest \"", s, "\": not lowercase hex");
    }
    return Digest{std::string(algo), std::string(hex)};
}

bool isDigest(std::string_view s) { return parseDigest(s).ok(); }

void requireCrypto() {
    static Status loaded = loadCryptoApi();
    if (!loaded) {
        // libcrypto3 is a dependency of berth's package: without it nothing can be verified.
        std::fprintf(stderr, "berth: %s\n", loaded.error().what().c_str());
        std::abort();
    }
}

Sha256::Sha256() : ctx_((requireCrypto(), crypto().EVP_MD_CTX_new()), crypto().EVP_MD_CTX_free) {
    crypto().EVP_DigestInit_ex(ctx_.get(), crypto().EVP_sha256(), nullptr);
}

void Sha256::update(const void* data, size_t n) { crypto().EVP_DigestUpdate(ctx_.get(), data, n); }

std::string Sha256::hexDigest() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    crypto().EVP_DigestFinal_ex(ctx_.get(), md, &len);
    static const char* kHex = "0123456789abcdef";
    std::string out;
    out.reserve(len * 2);
    for (unsigned i = 0; i < len; i++) {
        out.push_back(kHex[md[i] >> 4]);
        out.push_back(kHex[md[i] & 15]);
    }
    return out;
}

std::string sha256Hex(std::string_view data) {
    Sha256 h;
    h.update(data.data(), data.size());
    return h.hexDigest();
}

Result<std::string> sha256OfFile(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return Error::fromErrno("open ", path);
    Sha256 h;
    std::string buf(1 << 17, '\0');
    for (;;) {
        ssize_t n = ::read(fd.get(), buf.data(), buf.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return Error::fromErrno("read ", path);
        }
        if (n == 0) break;
        h.update(buf.data(), static_cast<size_t>(n));
    }
    return h.hexDigest();
}

}  // namespace berth::images
