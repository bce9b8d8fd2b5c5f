#include "images/auth.hpp"

#include <unistd.h>

#include <cctype>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "common/json.hpp"
#include "images/digest.hpp"
#include "images/dynlib.hpp"

namespace berth::images {

Result<Challenge> parseWwwAuthenticate(const std::string& header) {
    Challenge c;
    size_t i = 0;
    while (i < header.size() && std::isspace(static_cast<unsigned char>(header[i]))) i++;
    size_t start = i;
    while (i < header.size() && !std::isspace(static_cast<unsigned char>(header[i]))) i++;
    for (size_t k = start; k < i; k++) c.scheme += static_cast<char>(std::tolower(static_cast<unsigned char>(header[k])));
    if (c.scheme.empty()) return Error::make("empty WWW-Authenticate header");
    while (i < header.size()) {
        while (i < header.size() && (std::isspace(static_cast<unsigned char>(header[i])) || header[i] == ',')) i++;
        size_t eq = header.find('=', i);
        if (eq == std::string::npos) break;
        std::string key;
        for (size_t k = i; k < eq; k++) key += static_cast<char>(std::tolower(static_cast<unsigned char>(header[k])));
        while (!key.empty() && std::isspace(static_cast<unsigned char>(key.back()))) key.pop_back();
        i = eq + 1;
        while (i < header.size() && header[i] == ' ') i++;
        std::string value;
        if (i < header.size() && header[i] == '"') {
            for (i++; i < header.size() && header[i] != '"'; i++) {
                if (header[i] == '\\' && i + 1 < header.size()) i++;
                value += header[i];
            }
            if (i >= header.size()) return Error::make("WWW-Authenticate: unterminated quote in \"", header, "\"");
            i++;
        } else {
            while (i < header.size() && header[i] != ',') value += header[i++];
            while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) value.pop_back();
        }
        if (key.empty()) return Error::make("WWW-Authenticate: bad parameter in \"", header, "\"");
        c.params[key] = value;
    }
    return c;
}

namespace {

// "https://host:5000/v1/" → "host:5000".
std::string hostOfKey(std::string key) {
    for (const char* scheme : {"https://", "http://"})
        if (key.rfind(scheme, 0) == 0) key = key.substr(std::string(scheme).size());
    return key.substr(0, key.find('/'));
}

}  // namespace

Result<std::optional<Credentials>> credentialsFor(const std::string& authJson, const std::string& registry) {
    ASSIGN_OR_RETURN(nlohmann::json j, parseJson(authJson, "auth file"));
    if (!j.contains("auths") || !j["auths"].is_object()) return std::optional<Credentials>{};
    std::string want = registry == "docker.io" ? "index.docker.io" : registry;
    for (auto& [key, entry] : j["auths"].items()) {
        std::string host = hostOfKey(key);
        if (host != want && !(registry == "docker.io" && host == "docker.io")) continue;
        if (!entry.is_object()) continue;
        if (entry.contains("auth") && entry["auth"].is_string()) {
            ASSIGN_OR_RETURN(std::string decoded, base64Decode(entry["auth"].get<std::string>()));
            auto colon = decoded.find(':');
            if (colon == std::string::npos) return Error::make("auth file: entry for ", key, " is not user:password");
            return std::optional<Credentials>(Credentials{decoded.substr(0, colon), decoded.substr(colon + 1)});
        }
        if (entry.contains("username") && entry.contains("password"))
            return std::optional<Credentials>(
                Credentials{entry["username"].get<std::string>(), entry["password"].get<std::string>()});
    }
    return std::optional<Credentials>{};
}

std::string defaultAuthFile() {
    if (const char* f = std::getenv("REGISTRY_AUTH_FILE"); f && *f) return f;
    if (const char* x = std::getenv("XDG_RUNTIME_DIR"); x && *x) return std::string(x) + "/containers/auth.json";
    return strCat("/run/containers/", ::getuid(), "/auth.json");
}

std::string base64Encode(const std::string& in) {
    requireCrypto();
    std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
    int n = crypto().EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
    out.resize(static_cast<size_t>(n));
    return out;
}

Result<std::string> base64Decode(const std::string& in) {
    requireCrypto();
    if (in.size() % 4 != 0) return Error::make("invalid base64");
    std::string out(3 * in.size() / 4 + 1, '\0');
    int n = crypto().EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
    if (n < 0) return Error::make("invalid base64");
    // EVP_DecodeBlock counts the padding as zero bytes.
    size_t pad = 0;
    if (!in.empty() && in.back() == '=') pad++;
    if (in.size() > 1 && in[in.size() - 2] == '=') pad++;
    out.resize(static_cast<size_t>(n) - pad);
    return out;
}

}  // namespace berth::images
