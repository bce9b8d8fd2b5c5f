#include "images/http.hpp"

#include "images/dynlib.hpp"


#include <cctype>
#include <memory>
#include <mutex>

namespace berth::images {

namespace {

struct Transfer {
    HttpResponse resp;
    const HttpSink* sink = nullptr;
    size_t maxBody = 0;
    bool tooBig = false;
};

size_t onHeader(char* data, size_t size, size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    std::string line(data, size * n);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    if (line.rfind("HTTP/", 0) == 0) {  // a new response (after 100 Continue): start over
        t->resp.headers.clear();
        auto sp = line.find(' ');
        t->resp.status = sp == std::string::npos ? 0 : std::atol(line.c_str() + sp + 1);
        return size * n;
    }
    auto colon = line.find(':');
    if (colon != std::string::npos) {
        std::string key = line.substr(0, colon), value = line.substr(colon + 1);
        for (auto& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        while (!value.empty() && value.front() == ' ') value.erase(value.begin());
        t->resp.headers[key] = value;
    }
    return size * n;
}

size_t onBody(char* data, size_t size, size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    size_t len = size * n;
    if (t->sink && t->resp.status >= 200 && t->resp.status < 300) return (*t->sink)(t->resp.status, data, len) ? len : 0;
    if (t->resp.body.size() + len > t->maxBody) {
        t->tooBig = true;
        return 0;
    }
    t->resp.body.append(data, len);
    return len;
}

}  // namespace

Status httpGlobalInit() {
    TRY(loadCurlApi());
    static std::once_flag once;
    std::call_once(once, [] { cl().curl_global_init(CURL_GLOBAL_DEFAULT); });
    return {};
}

Result<HttpResponse> httpGet(const std::string& url, const std::vector<std::string>& headers, bool insecure,
                             const HttpSink* sink, size_t maxBody) {
    TRY(httpGlobalInit());
    std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(cl().curl_easy_init(), cl().curl_easy_cleanup);
    if (!curl) return Error::make("curl_easy_init failed");
    curl_slist* list = nullptr;
    for (const auto& h : headers) list = cl().curl_slist_append(list, h.c_str());
    std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> listGuard(list, cl().curl_slist_free_all);
    Transfer t;
    t.sink = sink;
    t.maxBody = maxBody;
    CURL* c = curl.get();
    cl().curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    cl().curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
    cl().curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    cl().curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    cl().curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
    // A stalled connection fails instead of hanging: under 1 byte/s for 60 s.
    cl().curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    cl().curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
    cl().curl_easy_setopt(c, CURLOPT_USERAGENT, "berth");
    cl().curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, onHeader);
    cl().curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
    cl().curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, onBody);
    cl().curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
    if (insecure) {
        cl().curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        cl().curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    CURLcode rc = cl().curl_easy_perform(c);
    if (t.tooBig) return Error::make("GET ", url, ": response larger than ", maxBody, " bytes");
    if (rc != CURLE_OK) return Error::make("GET ", url, ": ", cl().curl_easy_strerror(rc));
    cl().curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &t.resp.status);
    return std::move(t.resp);
}

}  // namespace berth::images
