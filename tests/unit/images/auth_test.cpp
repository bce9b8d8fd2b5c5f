#include <gtest/gtest.h>

#include "images/auth.hpp"

using namespace berth::images;

TEST(WwwAuthenticate, Bearer) {
    auto c = parseWwwAuthenticate(
        R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull")");
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->scheme, "bearer");
    EXPECT_EQ(c->params["realm"], "https://auth.docker.io/token");
    EXPECT_EQ(c->params["service"], "registry.docker.io");
    EXPECT_EQ(c->params["scope"], "repository:library/busybox:pull");
}

TEST(WwwAuthenticate, BasicAndOddSpacing) {
    auto c = parseWwwAuthenticate(R"(Basic realm="Registry Realm")");
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->scheme, "basic");
    EXPECT_EQ(c->params["realm"], "Registry Realm");
    auto d = parseWwwAuthenticate(R"(BEARER  realm = "r" ,  service=svc, scope="a:b,c:pull")");
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d->scheme, "bearer");
    EXPECT_EQ(d->params["realm"], "r");
    EXPECT_EQ(d->params["service"], "svc");
    EXPECT_EQ(d->params["scope"], "a:b,c:pull");
    auto e = parseWwwAuthenticate(R"(Bearer realm="with \"quote\"")");
    ASSERT_TRUE(e.ok());
    EXPECT_EQ(e->params["realm"], "with \"quote\"");
}

TEST(WwwAuthenticate, Malformed) {
    EXPECT_FALSE(parseWwwAuthenticate("").ok());
    EXPECT_FALSE(parseWwwAuthenticate(R"(Bearer realm="unterminated)").ok());
}

TEST(AuthJson, FindsCredentialsByHost) {
    std::string j = R"({"auths":{"127.0.0.1:5000":{"auth":")" + base64Encode("alice:s3cr:et") +
                    R"("},"https://index.docker.io/v1/":{"auth":")" + base64Encode("bob:pw") + R"("},
                    "quay.io":{"username":"carol","password":"x"}}})";
    auto a = credentialsFor(j, "127.0.0.1:5000");
    ASSERT_TRUE(a.ok());
    ASSERT_TRUE(a->has_value());
    EXPECT_EQ((*a)->username, "alice");
    EXPECT_EQ((*a)->password, "s3cr:et");
    auto b = credentialsFor(j, "docker.io");
    ASSERT_TRUE(b.ok() && b->has_value());
    EXPECT_EQ((*b)->username, "bob");
    EXPECT_EQ((*credentialsFor(j, "quay.io"))->username, "carol");
    auto none = credentialsFor(j, "other:1");
    ASSERT_TRUE(none.ok());
    EXPECT_FALSE(none->has_value());
    EXPECT_FALSE(credentialsFor("{bad", "x").ok());
    EXPECT_FALSE(credentialsFor(R"({"auths":{"h":{"auth":")" + base64Encode("nocolon") + R"("}}})", "h").ok());
}

TEST(Base64, RoundTrip) {
    for (std::string s : {"", "a", "ab", "abc", "abcd", "user:pass"}) {
        auto d = base64Decode(base64Encode(s));
        ASSERT_TRUE(d.ok());
        EXPECT_EQ(*d, s);
    }
    EXPECT_EQ(base64Encode("user:pass"), "dXNlcjpwYXNz");
    EXPECT_FALSE(base64Decode("abc").ok());
}
