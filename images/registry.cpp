// images/registry: `berth image pull`. A Client knows one repository on one registry and how
// to authenticate to it; pull() negotiates the manifest, picks the platform, downloads the
// blobs concurrently into resumable temp files, verifies, unpacks, and only then names it.
#include "images/registry.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/fs.hpp"
#include "common/json.hpp"
#include "common/log.hpp"
#include "images/auth.hpp"
#include "images/digest.hpp"
#include "images/http.hpp"
#include "images/images.hpp"
#include "images/reference.hpp"
#include "images/snapshot.hpp"

namespace berth::images {

namespace {

const char* const kAccept = "Accept: application/vnd.oci.image.index.v1+json, "
                            "application/vnd.oci.image.manifest.v1+json, "
                            "application/vnd.docker.distribution.manifest.list.v2+json, "
                            "application/vnd.docker.distribution.manifest.v2+json";

std::string urlEscape(const std::string& s) {
    static const char* kHex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == ':' || c == '/') out += static_cast<char>(c);
        else out += {'%', kHex[c >> 4], kHex[c & 15]};
    }
    return out;
}

class Client {
public:
    Client(Reference ref, const PullOptions& o, std::optional<Credentials> creds)
        : ref_(std::move(ref)), insecure_(o.insecure), creds_(std::move(creds)) {
        std::string host = ref_.registry == "docker.io" ? "registry-1.docker.io" : ref_.registry;
        base_ = (insecure_ ? "http://" : "https://") + host + "/v2/" + ref_.repository;
    }
    // GET base+path with auth; a 2xx body goes to sink when one is given.
    Result<HttpResponse> get(const std::string& path, std::vector<std::string> headers, const HttpSink* sink = nullptr);
    const Reference& ref() const { return ref_; }

private:
    Status authenticate(const HttpResponse& challenge);
    std::string authHeader() {
        std::lock_guard<std::mutex> g(mu_);
        return auth_;
    }

    Reference ref_;
    bool insecure_;
    std::optional<Credentials> creds_;
    std::string base_;
    std::mutex mu_;
    std::string auth_;  // "Authorization: ..." once known
};

Status Client::authenticate(const HttpResponse& resp) {
    std::string header = resp.header("www-authenticate");
    if (header.empty()) return Error::make("registry ", ref_.registry, " answered 401 without a challenge");
    ASSIGN_OR_RETURN(Challenge ch, parseWwwAuthenticate(header));
    if (ch.scheme == "basic") {
        if (!creds_) return Error::make("registry ", ref_.registry, " wants a login (no credentials in the auth file)");
        std::lock_guard<std::mutex> g(mu_);
        auth_ = "Authorization: Basic " + base64Encode(creds_->username + ":" + creds_->password);
        return {};
    }
    if (ch.scheme != "bearer") return Error::make("registry ", ref_.registry, ": unsupported auth scheme ", ch.scheme);
    std::string realm = ch.params["realm"];
    if (realm.empty()) return Error::make("registry ", ref_.registry, ": bearer challenge without realm");
    std::string scope = ch.params.count("scope") ? ch.params["scope"] : "repository:" + ref_.repository + ":pull";
    std::string url = realm + (realm.find('?') == std::string::npos ? "?" : "&") + "scope=" + urlEscape(scope);
    if (ch.params.count("service")) url += "&service=" + urlEscape(ch.params["service"]);
    std::vector<std::string> h;
    if (creds_) h.push_back("Authorization: Basic " + base64Encode(creds_->username + ":" + creds_->password));
    ASSIGN_OR_RETURN(HttpResponse tok, httpGet(url, h, insecure_));
    if (tok.status != 200) return Error::make("token server ", realm, " answered HTTP ", tok.status);
    ASSIGN_OR_RETURN(nlohmann::json j, parseJson(tok.body, "token server " + realm));
    try {
        std::string t = j.value("token", j.value("access_token", ""));
        if (t.empty()) return Error::make("token server ", realm, " sent no token");
        std::lock_guard<std::mutex> g(mu_);
        auth_ = "Authorization: Bearer " + t;
    } catch (const nlohmann::json::exception& e) {
        return Error::make("token server ", realm, ": ", shortJsonError(e.what()));
    }
    return {};
}

Result<HttpResponse> Client::get(const std::string& path, std::vector<std::string> headers, const HttpSink* sink) {
    std::string url = base_ + path;
    bool authed = false;
    for (int hop = 0; hop < 6; hop++) {
        std::vector<std::string> h = headers;
        // Credentials go only to the registry itself, never to where it redirects (a CDN).
        if (hop == 0 || url.rfind(base_, 0) == 0) {
            if (std::string a = authHeader(); !a.empty()) h.push_back(a);
        }
        ASSIGN_OR_RETURN(HttpResponse r, httpGet(url, h, insecure_, sink));
        if (r.status == 401 && !authed) {
            TRY(authenticate(r));
            authed = true;
            hop--;
            continue;
        }
        if (r.status >= 300 && r.status < 400 && !r.header("location").empty()) {
            std::string loc = r.header("location");
            if (loc.front() == '/') loc = base_.substr(0, base_.find('/', base_.find("//") + 2)) + loc;
            url = loc;
            continue;
        }
        return r;
    }
    return Error::make("GET ", base_ + path, ": too many redirects");
}

Error httpError(const std::string& what, const HttpResponse& r) {
    std::string detail;
    // Only a detail for the message: a body that is not (sane) JSON is left out.
    try {
        if (auto j = parseJson(r.body, "registry error"); j && j->contains("errors") && (*j)["errors"].is_array() &&
                                                          !(*j)["errors"].empty())
            detail = ": " + (*j)["errors"][0].value("message", "");
    } catch (...) {
    }
    if (r.status == 401) return Error(EACCES, strCat(what, ": unauthorized", detail)).hideErrno();
    if (r.status == 404) return Error(ENOENT, strCat(what, ": not found", detail)).hideErrno();
    return Error::make(what, ": HTTP ", r.status, detail);
}

// A manifest (or index) by tag or digest, checked against the digest it claims or was asked by.
Result<std::pair<std::string, std::string>> fetchManifest(Client& c, const std::string& ref, std::string& contentType) {
    ASSIGN_OR_RETURN(HttpResponse r, c.get("/manifests/" + ref, {kAccept}));
    if (r.status != 200) return httpError(strCat("manifest ", c.ref().name(), ":", ref), r);
    std::string digest = "sha256:" + sha256Hex(r.body);
    std::string claimed = isDigest(ref) ? ref : r.header("docker-content-digest");
    if (!claimed.empty() && claimed != digest)
        return Error::make("manifest ", ref, ": digest mismatch (expected ", claimed, ", got ", digest, ")");
    contentType = r.header("content-type");
    return std::make_pair(digest, r.body);
}

struct Progress {
    std::atomic<int64_t> done{0};
    int64_t total = 0;
};

// One blob into the store: appended to tmp/<hex>.partial (kept when the transfer fails, and
// continued with a Range request next time), verified, renamed into place.
Status fetchBlob(Client& c, const Store& store, const Descriptor& d, Progress& prog, bool& integrity) {
    ASSIGN_OR_RETURN(UniqueFd lock, store.blobLock(d.digest));
    if (store.hasBlob(d.digest)) {
        prog.done += d.size;
        return {};
    }
    std::string partial = store.tmpDir() + "/" + d.digest.substr(7) + ".partial";
    UniqueFd fd(::open(partial.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!fd) return Error::fromErrno("open ", partial);
    off_t have = ::lseek(fd.get(), 0, SEEK_END);
    if (d.size > 0 && have > d.size) have = 0;
    std::vector<std::string> h;
    if (have > 0) h.push_back(strCat("Range: bytes=", have, "-"));
    Error writeErr;
    bool started = false;
    HttpSink sink = [&](long status, const char* p, size_t n) {
        if (!started && status == 200 && have > 0) {
            // The registry ignored the range and sends everything: start the file over.
            prog.done -= have;
            have = 0;
            if (::ftruncate(fd.get(), 0) < 0 || ::lseek(fd.get(), 0, SEEK_SET) < 0) {
                writeErr = Error::fromErrno("truncate ", partial);
                return false;
            }
        }
        started = true;
        while (n > 0) {
            ssize_t w = ::write(fd.get(), p, n);
            if (w < 0 && errno == EINTR) continue;
            if (w < 0) {
                writeErr = Error::fromErrno("write ", partial);
                return false;
            }
            p += w, n -= static_cast<size_t>(w), prog.done += w;
        }
        return true;
    };
    prog.done += have;
    auto r = c.get("/blobs/" + d.digest, h, &sink);
    if (!writeErr.message().empty()) return writeErr;
    if (!r) return std::move(r).error();
    if (r->status == 416) {
        ::unlink(partial.c_str());
        return Error::make("blob ", d.digest, ": range not satisfiable; partial download dropped, pull again");
    }
    if (r->status != 200 && r->status != 206) return httpError(strCat("blob ", d.digest), *r);
    fd.reset();
    Status st = store.commitTemp(partial, d.digest);
    if (!st) {
        integrity = true;
        return std::move(st).error().context("blob ", d.digest);
    }
    return {};
}

void showProgress(const std::string& name, const Progress& p, bool final) {
    std::fprintf(stderr, "\rpulling %s: %.1f / %.1f MB%s", name.c_str(), static_cast<double>(p.done) / 1e6,
                 static_cast<double>(p.total) / 1e6, final ? "\n" : "");
    std::fflush(stderr);
}

// Config and layers, `jobs` at a time; the first error wins.
Status fetchBlobs(Client& c, const Store& store, const Manifest& m, const PullOptions& o, BlobTransaction& tx,
                  bool& integrity) {
    std::vector<Descriptor> todo{m.config};
    todo.insert(todo.end(), m.layers.begin(), m.layers.end());
    Progress prog;
    for (const auto& d : todo) prog.total += d.size;
    std::atomic<size_t> next{0};
    std::atomic<int> running{0};
    std::mutex mu;
    Status first;
    auto worker = [&] {
        for (size_t i; first.ok() && (i = next++) < todo.size();) {
            bool had = store.hasBlob(todo[i].digest);
            Status st = fetchBlob(c, store, todo[i], prog, integrity);
            std::lock_guard<std::mutex> g(mu);
            if (!st && first.ok()) first = std::move(st);
            if (st && !had) tx.added(todo[i].digest);
        }
        running--;
    };
    int jobs = std::max(1, std::min<int>(o.jobs, static_cast<int>(todo.size())));
    running = jobs;
    std::vector<std::thread> threads;
    for (int i = 0; i < jobs; i++) threads.emplace_back(worker);
    while (running > 0) {
        if (o.progress) showProgress(c.ref().str(), prog, false);
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    for (auto& t : threads) t.join();
    if (o.progress) showProgress(c.ref().str(), prog, true);
    return first;
}

Result<std::optional<Credentials>> loadCredentials(const PullOptions& o, const std::string& registry) {
    std::string file = o.authFile.empty() ? defaultAuthFile() : o.authFile;
    auto text = fs::readFile(file);
    if (!text) {
        if (o.authFile.empty() && text.error().err() == ENOENT) return std::optional<Credentials>{};
        return std::move(text).error().context("auth file");
    }
    return credentialsFor(*text, registry);
}

}  // namespace

Result<ImageRecord> pull(const Store& store, const PullOptions& o) {
    ASSIGN_OR_RETURN(Reference ref, parseReference(o.reference));
    Platform want;
    if (!o.platform.empty()) {
        ASSIGN_OR_RETURN(want, parsePlatform(o.platform));
    }
    ASSIGN_OR_RETURN(auto creds, loadCredentials(o, ref.registry));
    TRY(httpGlobalInit());
    Client c(ref, o, creds);
    std::string contentType;
    ASSIGN_OR_RETURN(auto top, fetchManifest(c, ref.manifestRef(), contentType));
    ASSIGN_OR_RETURN(DocKind kind, documentKind(top.second, contentType));
    if (kind == DocKind::Index) {
        ASSIGN_OR_RETURN(Index idx, parseIndex(top.second));
        ASSIGN_OR_RETURN(Descriptor d, selectPlatform(idx, want));
        ASSIGN_OR_RETURN(top, fetchManifest(c, d.digest, contentType));
    }
    auto& [digest, body] = top;
    ASSIGN_OR_RETURN(Manifest m, parseManifest(body));
    ASSIGN_OR_RETURN(UniqueFd gc, store.gcLock(false));
    BlobTransaction tx(store);
    bool integrity = false;
    Status st = fetchBlobs(c, store, m, o, tx, integrity);
    // A transfer that broke keeps what is verified (and the partial file) for the next try;
    // content that does not match its digest takes everything this pull stored with it.
    if (!st) {
        if (!integrity) tx.commit();
        return std::move(st).error().context("pull ", ref.str());
    }
    // Every unpack and inspect reads the config: one berth cannot read is refused now (and its
    // blobs go with the transaction), not at the first run.
    ASSIGN_OR_RETURN(std::string config, store.readBlob(m.config.digest));
    TRY_CTX(parseImageConfig(config), "pull ", ref.str(), ": config ", m.config.digest);
    TRY_CTX(store.putBlob(body, digest), "pull ", ref.str());
    TRY_CTX(ensureSnapshots(store, m), "pull ", ref.str());
    TRY(store.setImage(ref.str(), digest));
    tx.commit();
    return ImageRecord{ref.str(), digest};
}

}  // namespace berth::images
