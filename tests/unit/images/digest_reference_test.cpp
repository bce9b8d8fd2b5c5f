#include <gtest/gtest.h>

#include "images/digest.hpp"
#include "images/reference.hpp"

using namespace berth::images;

TEST(Digest, Sha256KnownVectors) {
    EXPECT_EQ(sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    Sha256 h;
    h.update("a", 1);
    h.update("bc", 2);
    EXPECT_EQ(h.hexDigest(), sha256Hex("abc"));
}

TEST(Digest, ParseAcceptsOnlyLowercaseSha256) {
    std::string hex(64, 'a');
    auto d = parseDigest("sha256:" + hex);
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d->hex, hex);
    EXPECT_EQ(d->str(), "sha256:" + hex);
    EXPECT_FALSE(isDigest("sha256:" + std::string(64, 'A')));
    EXPECT_FALSE(isDigest("sha256:" + std::string(63, 'a')));
    EXPECT_FALSE(isDigest("sha512:" + hex));
    EXPECT_FALSE(isDigest(hex));
    EXPECT_FALSE(isDigest("sha256:../../" + std::string(58, 'a')));
}

TEST(Reference, DockerHubNormalisation) {
    auto r = parseReference("busybox");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->registry, "docker.io");
    EXPECT_EQ(r->repository, "library/busybox");
    EXPECT_EQ(r->tag, "latest");
    EXPECT_EQ(r->str(), "docker.io/library/busybox:latest");
    EXPECT_EQ(parseReference("user/app:1.0")->str(), "docker.io/user/app:1.0");
    EXPECT_EQ(parseReference("docker.io/busybox")->str(), "docker.io/library/busybox:latest");
    EXPECT_EQ(parseReference("index.docker.io/library/busybox:1")->str(), "docker.io/library/busybox:1");
}

TEST(Reference, RegistriesWithPortsAndLocalhost) {
    auto r = parseReference("127.0.0.1:5000/a/b:v2");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->registry, "127.0.0.1:5000");
    EXPECT_EQ(r->repository, "a/b");
    EXPECT_EQ(r->tag, "v2");
    EXPECT_EQ(parseReference("localhost/img")->registry, "localhost");
    EXPECT_EQ(parseReference("localhost:5000/img")->tag, "latest");
    EXPECT_EQ(parseReference("quay.io/x/y")->name(), "quay.io/x/y");
}

TEST(Reference, Digests) {
    std::string d = "sha256:" + std::string(64, 'b');
    auto r = parseReference("host:5000/app@" + d);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->digest, d);
    EXPECT_EQ(r->tag, "");
    EXPECT_EQ(r->manifestRef(), d);
    EXPECT_EQ(r->str(), "host:5000/app@" + d);
    auto both = parseReference("app:1@" + d);
    ASSERT_TRUE(both.ok());
    EXPECT_EQ(both->tag, "1");
    EXPECT_EQ(both->manifestRef(), d);
}

TEST(Reference, Invalid) {
    EXPECT_FALSE(parseReference("").ok());
    EXPECT_FALSE(parseReference("UPPER/case").ok());
    EXPECT_FALSE(parseReference("app@sha256:short").ok());
    EXPECT_FALSE(parseReference("app:bad tag").ok());
    EXPECT_FALSE(parseReference("a//b").ok());
    EXPECT_FALSE(parseReference("app:").ok());
}
