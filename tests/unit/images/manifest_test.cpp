#include <gtest/gtest.h>

#include "images/manifest.hpp"

using namespace berth::images;

namespace {

std::string D(char c) { return "sha256:" + std::string(64, c); }

std::string manifestJson(const std::string& mt) {
    return R"({"schemaVersion":2,"mediaType":")" + mt + R"(","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
           D('c') + R"(","size":10},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":")" + D('1') +
           R"(","size":100},{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","digest":")" + D('2') + R"(","size":200}]})";
}

std::string indexJson() {
    return R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
      {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" + D('a') + R"(","size":1,"platform":{"os":"linux","architecture":"arm64","variant":"v8"}},
      {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" + D('b') + R"(","size":1,"platform":{"os":"linux","architecture":"amd64"}},
      {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" + D('e') + R"(","size":1,"platform":{"os":"linux","architecture":"arm","variant":"v7"}}]})";
}

}  // namespace

TEST(Manifest, ParsesOciAndDockerSchema2) {
    for (const char* mt : {kMediaOciManifest, kMediaDockerManifest}) {
        auto m = parseManifest(manifestJson(mt));
        ASSERT_TRUE(m.ok()) << m.error().what();
        EXPECT_EQ(m->mediaType, mt);
        EXPECT_EQ(m->config.digest, D('c'));
        ASSERT_EQ(m->layers.size(), 2u);
        EXPECT_EQ(m->layers[1].size, 200);
        EXPECT_EQ(documentKind(manifestJson(mt)).value(), DocKind::Manifest);
    }
}

TEST(Manifest, RejectsBadDocuments) {
    EXPECT_FALSE(parseManifest("not json").ok());
    EXPECT_FALSE(parseManifest("[]").ok());
    EXPECT_FALSE(parseManifest(R"({"layers":[]})").ok());
    std::string badDigest = manifestJson(kMediaOciManifest);
    badDigest.replace(badDigest.find(D('1')), 71, "sha256:1234");
    EXPECT_FALSE(parseManifest(badDigest).ok());
    std::string foreign = manifestJson(kMediaOciManifest);
    foreign.replace(foreign.find("application/vnd.oci.image.layer.v1.tar+gzip"), 43, "application/x-unknown-blob-type-12345678901");
    EXPECT_FALSE(parseManifest(foreign).ok());
}

TEST(Index, KindFromMediaTypeOrShape) {
    EXPECT_EQ(documentKind(indexJson()).value(), DocKind::Index);
    EXPECT_EQ(documentKind(R"({"manifests":[]})").value(), DocKind::Index);
    EXPECT_EQ(documentKind(R"({"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[]})").value(),
              DocKind::Index);
    EXPECT_FALSE(documentKind(R"({"mediaType":"text/plain"})").ok());
}

TEST(Index, SelectsPlatform) {
    auto idx = parseIndex(indexJson());
    ASSERT_TRUE(idx.ok());
    EXPECT_EQ(selectPlatform(*idx, Platform{}).value().digest, D('b'));
    EXPECT_EQ(selectPlatform(*idx, parsePlatform("linux/arm64").value()).value().digest, D('a'));
    EXPECT_EQ(selectPlatform(*idx, parsePlatform("linux/arm/v7").value()).value().digest, D('e'));
    auto none = selectPlatform(*idx, parsePlatform("linux/s390x").value());
    ASSERT_FALSE(none.ok());
    EXPECT_NE(none.error().what().find("linux/arm64/v8"), std::string::npos);
    EXPECT_FALSE(selectPlatform(*idx, parsePlatform("linux/arm64/v9").value()).ok());
}

TEST(Platform, Parse) {
    EXPECT_EQ(parsePlatform("linux/arm64/v8")->variant, "v8");
    EXPECT_EQ(parsePlatform("linux/amd64")->str(), "linux/amd64");
    EXPECT_FALSE(parsePlatform("linux").ok());
    EXPECT_FALSE(parsePlatform("linux//x").ok());
    EXPECT_FALSE(parsePlatform("a/b/c/d").ok());
}

TEST(ImageConfig, Parse) {
    auto c = parseImageConfig(R"({"os":"linux","architecture":"amd64","config":{"User":"app","Env":["A=1"],
        "Entrypoint":["/bin/sh","-c"],"Cmd":["echo hi"],"WorkingDir":"/srv","StopSignal":"SIGINT",
        "Labels":{"k":"v"}},"rootfs":{"type":"layers","diff_ids":["sha256:x"]}})");
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->user, "app");
    EXPECT_EQ(c->entrypoint.size(), 2u);
    EXPECT_EQ(c->cmd[0], "echo hi");
    EXPECT_EQ(c->labels.at("k"), "v");
    EXPECT_EQ(c->stopSignal, "SIGINT");
    EXPECT_EQ(c->diffIds.size(), 1u);
    EXPECT_TRUE(parseImageConfig(R"({"config":null})").ok());
    EXPECT_FALSE(parseImageConfig("{").ok());
}
