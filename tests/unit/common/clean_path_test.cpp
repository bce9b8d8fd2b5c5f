// fs::cleanPath against the component-vector version it replaced (issue 17, fourth pass): the
// same answer for random paths of empty, ".", ".." and named components.
#include <gtest/gtest.h>

#include <random>

#include "common/fs.hpp"

using namespace berth;

namespace {

std::string referenceCleanPath(const std::string& path) {
    std::vector<std::string> parts;
    for (auto& p : fs::split(path, '/')) {
        if (p.empty() || p == ".") continue;
        if (p == "..") {
            if (!parts.empty()) parts.pop_back();
            continue;
        }
        parts.push_back(p);
    }
    std::string out;
    for (auto& p : parts) out += "/" + p;
    return out.empty() ? "/" : out;
}

}  // namespace

TEST(CleanPath, MatchesTheComponentVersion) {
    for (const char* p : {"", "/", ".", "..", "/..", "a", "/a/..", "/a/../..", "/..a/b", "/a/.../b", "a/b/",
                          "/a/b/c/../../d", "//", "/./.", "/a/./../b/./c/.."})
        EXPECT_EQ(fs::cleanPath(p), referenceCleanPath(p)) << p;
    std::mt19937 rng(17);
    const char* parts[] = {"", ".", "..", "a", "bc", "...", ".x", "x.."};
    for (int n = 0; n < 3000; n++) {
        std::string p = rng() % 2 ? "/" : "";
        for (unsigned k = rng() % 7; k > 0; k--) p += std::string(parts[rng() % 8]) + (rng() % 4 ? "/" : "");
        EXPECT_EQ(fs::cleanPath(p), referenceCleanPath(p)) << p;
    }
}
