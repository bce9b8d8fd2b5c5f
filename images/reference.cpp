#include "images/reference.hpp"

#include <vector>

#include "images/digest.hpp"

namespace berth::images {

namespace {

bool validComponent(const std::string& c) {
    if (c.empty()) return false;
    for (char ch : c) {
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-';
        if (!ok) return false;
    }
    return c.front() != '.' && c.front() != '-' && c.front() != '_';
}

bool validTag(const std::string& t) {
    if (t.empty() || t.size() > 128 || t.front() == '.' || t.front() == '-') return false;
    for (char ch : t) {
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                  ch == '.' || ch == '_' || ch == '-';
        if (!ok) return false;
    }
    return true;
}

}  // namespace

std::string Reference::str() const {
    std::string s = name();
    if (!tag.empty()) s += ":" + tag;
    if (!digest.empty()) s += "@" + digest;
    return s;
}

Result<Reference> parseReference(const std::string& input) {
    auto bad = [&](const char* why) { return Error::make("invalid image reference \"", input, "\": ", why); };
    if (input.empty()) return bad("empty");
    Reference r;
    std::string rest = input;
    if (auto at = rest.find('@'); at != std::string::npos) {
        r.digest = rest.substr(at + 1);
        rest.resize(at);
        if (!isDigest(r.digest)) return bad("bad digest");
    }
    auto lastSlash = rest.rfind('/');
    auto colon = rest.rfind(':');
    if (colon != std::string::npos && (lastSlash == std::string::npos || colon > lastSlash)) {
        r.tag = rest.substr(colon + 1);
        rest.resize(colon);
        if (!validTag(r.tag)) return bad("bad tag");
    }
    auto slash = rest.find('/');
    std::string first = slash == std::string::npos ? "" : rest.substr(0, slash);
    if (!first.empty() && (first.find('.') != std::string::npos || first.find(':') != std::string::npos ||
                           first == "localhost")) {
        r.registry = first;
        r.repository = rest.substr(slash + 1);
    } else {
        r.registry = "docker.io";
        r.repository = rest;
    }
    if (r.registry == "index.docker.io") r.registry = "docker.io";
    if (r.registry == "docker.io" && r.repository.find('/') == std::string::npos)
        r.repository = "library/" + r.repository;
    for (const auto& c : [&] {
             std::vector<std::string> parts;
             size_t start = 0;
             for (size_t i = 0; i <= r.repository.size(); i++) {
                 if (i == r.repository.size() || r.repository[i] == '/') {
                     parts.push_back(r.repository.substr(start, i - start));
                     start = i + 1;
                 }
             }
             return parts;
         }()) {
        if (!validComponent(c)) return bad("repository must be lowercase [a-z0-9._-] components");
    }
    if (r.tag.empty() && r.digest.empty()) r.tag = "latest";
    return r;
}

}  // namespace berth::images
