// images/dynlib: libarchive, libcurl and libcrypto, loaded with dlopen on first use. Linked normally they
// pull ~40 shared libraries (libcrypto alone ~2 ms) into every berth start (create, start, state...), which costs more
// than a whole `run` (measured: 20 ms vs 4 ms per invocation); only image verbs need them.
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>
#include <openssl/evp.h>

#include "common/error.hpp"

namespace berth::images {

#define BERTH_ARCHIVE_FUNCS(X)                                                                     \
    X(archive_entry_filetype) X(archive_entry_gid) X(archive_entry_hardlink) X(archive_entry_mtime) \
    X(archive_entry_mtime_nsec) X(archive_entry_pathname) X(archive_entry_perm) X(archive_entry_rdev) \
    X(archive_entry_size) X(archive_entry_symlink) X(archive_entry_uid) X(archive_entry_xattr_next) \
    X(archive_entry_xattr_reset) X(archive_error_string) X(archive_read_data_block)                 \
    X(archive_read_data_into_fd) X(archive_read_free) X(archive_read_new) X(archive_read_next_header) \
    X(archive_read_open_fd) X(archive_read_open_filename) X(archive_read_support_filter_all)        \
    X(archive_read_support_filter_gzip) X(archive_read_support_filter_zstd)                        \
    X(archive_read_support_format_tar)

#define BERTH_CURL_FUNCS(X)                                                                        \
    X(curl_easy_cleanup) X(curl_easy_getinfo) X(curl_easy_init) X(curl_easy_perform)              \
    X(curl_easy_setopt) X(curl_easy_strerror) X(curl_global_init) X(curl_slist_append)            \
    X(curl_slist_free_all)

#define BERTH_CRYPTO_FUNCS(X)                                                                      \
    X(EVP_MD_CTX_new) X(EVP_MD_CTX_free) X(EVP_DigestInit_ex) X(EVP_DigestUpdate)                  \
    X(EVP_DigestFinal_ex) X(EVP_sha256) X(EVP_EncodeBlock) X(EVP_DecodeBlock)

#define BERTH_DYN_MEMBER(name) decltype(&::name) name = nullptr;

struct ArchiveApi {
    BERTH_ARCHIVE_FUNCS(BERTH_DYN_MEMBER)
};
struct CurlApi {
    BERTH_CURL_FUNCS(BERTH_DYN_MEMBER)
};

struct CryptoApi {
    BERTH_CRYPTO_FUNCS(BERTH_DYN_MEMBER)
};

// Load once (thread-safe); the error names the library that is missing.
Status loadArchiveApi();
Status loadCryptoApi();
Status loadCurlApi();
// Valid after a successful load.
const ArchiveApi& la();
const CurlApi& cl();
const CryptoApi& crypto();

}  // namespace berth::images
