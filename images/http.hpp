// images/http: the one place berth speaks HTTP — a GET over libcurl that returns status,
// headers and body, or streams a successful body to a sink; redirects are the caller's.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace berth::images {

struct HttpResponse {
    long status = 0;
    std::map<std::string, std::string> headers;  // lowercase names
    std::string body;                            // unless streamed to a sink
    std::string header(const std::string& name) const {
        auto it = headers.find(name);
        return it == headers.end() ? "" : it->second;
    }
};

// Receives a 2xx body chunk by chunk, with the status; returning false aborts the transfer.
using HttpSink = std::function<bool(long status, const char* data, size_t n)>;

// Call once before threads use httpGet.
Status httpGlobalInit();
// insecure: no TLS verification (plain http URLs need no flag here; the caller picks the scheme).
Result<HttpResponse> httpGet(const std::string& url, const std::vector<std::string>& headers, bool insecure,
                             const HttpSink* sink = nullptr, size_t maxBody = 16u << 20);

}  // namespace berth::images
