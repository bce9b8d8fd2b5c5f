#include "images/dynlib.hpp"

#include <dlfcn.h>

#include <mutex>

namespace berth::images {

namespace {

ArchiveApi gArchive;
CurlApi gCurl;
CryptoApi gCrypto;

template <typename Api, typename Fill>
Status loadOnce(std::once_flag& once, Status& result, const char* soname, Api& api, Fill fill) {
    std::call_once(once, [&] {
        void* h = ::dlopen(soname, RTLD_NOW | RTLD_LOCAL);
        if (!h) {
            result = Error::make("cannot load ", soname, ": ", ::dlerror());
            return;
        }
        result = fill(h, api);
    });
    return result;
}

#define BERTH_DYN_LOAD(name)                                                           \
    api.name = reinterpret_cast<decltype(api.name)>(::dlsym(h, #name));                \
    if (!api.name) return Error::make("symbol ", #name, " missing from the library");

}  // namespace

Status loadArchiveApi() {
    static std::once_flag once;
    static Status result;
    return loadOnce(once, result, "libarchive.so.13", gArchive, [](void* h, ArchiveApi& api) -> Status {
        BERTH_ARCHIVE_FUNCS(BERTH_DYN_LOAD)
        return {};
    });
}

Status loadCurlApi() {
    static std::once_flag once;
    static Status result;
    return loadOnce(once, result, "libcurl.so.4", gCurl, [](void* h, CurlApi& api) -> Status {
        BERTH_CURL_FUNCS(BERTH_DYN_LOAD)
        return {};
    });
}

Status loadCryptoApi() {
    static std::once_flag once;
    static Status result;
    static CryptoApi* api = &gCrypto;
    return loadOnce(once, result, "libcrypto.so.3", *api, [](void* h, CryptoApi& api) -> Status {
        BERTH_CRYPTO_FUNCS(BERTH_DYN_LOAD)
        return {};
    });
}

const CryptoApi& crypto() { return gCrypto; }
const ArchiveApi& la() { return gArchive; }
const CurlApi& cl() { return gCurl; }

}  // namespace berth::images
