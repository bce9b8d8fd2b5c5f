#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "common/fs.hpp"
#include "images/digest.hpp"
#include "images/store.hpp"

using namespace berth;
using namespace berth::images;

namespace {

class StoreTest : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/berth-store-test.XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        store_ = std::make_unique<Store>(dir_);
        ASSERT_TRUE(store_->init().ok());
    }
    void TearDown() override { (void)fs::removeAll(dir_); }

    // A one-layer manifest whose config and layer are stored; returns its digest.
    std::string putImage(const std::string& layerData) {
        std::string layer = store_->putBlob(layerData).value();
        std::string config = store_->putBlob(R"({"os":"linux","architecture":"amd64"})").value();
        std::string m = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
                        config + R"(","size":1},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":")" +
                        layer + R"(","size":1}]})";
        return store_->putBlob(m).value();
    }

    std::string dir_;
    std::unique_ptr<Store> store_;
};

}  // namespace

TEST_F(StoreTest, BlobsAreNamedByTheirDigestAndVerifiedOnRead) {
    auto d = store_->putBlob("hello");
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(*d, "sha256:" + sha256Hex("hello"));
    EXPECT_TRUE(store_->hasBlob(*d));
    EXPECT_EQ(store_->readBlob(*d).value(), "hello");
    EXPECT_FALSE(store_->putBlob("hello", "sha256:" + std::string(64, '0')).ok());
    EXPECT_FALSE(store_->hasBlob("sha256:" + std::string(64, '0')));
    // Corruption on disk is noticed.
    std::string path = store_->blobPath(*d);
    ::chmod(path.c_str(), 0644);
    ASSERT_TRUE(fs::writeFile(path, "hellO").ok());
    auto bad = store_->readBlob(*d);
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.error().what().find("corrupt"), std::string::npos);
}

TEST_F(StoreTest, IngestFileVerifies) {
    std::string src = dir_ + "/src";
    ASSERT_TRUE(fs::writeFile(src, "data").ok() || fs::writeFileAtomic(src, "data").ok());
    auto wrong = store_->ingestFile(src, "sha256:" + sha256Hex("other"));
    ASSERT_FALSE(wrong.ok());
    EXPECT_NE(wrong.error().what().find("digest mismatch"), std::string::npos);
    EXPECT_FALSE(store_->hasBlob("sha256:" + sha256Hex("other")));
    ASSERT_TRUE(store_->ingestFile(src, "sha256:" + sha256Hex("data")).ok());
    EXPECT_TRUE(store_->hasBlob("sha256:" + sha256Hex("data")));
}

TEST_F(StoreTest, NamesResolveByNameDigestAndPrefix) {
    std::string m = putImage("layer-a");
    ASSERT_TRUE(store_->setImage("docker.io/library/busybox:latest", m).ok());
    EXPECT_EQ(store_->resolve("busybox").value().digest, m);
    EXPECT_EQ(store_->resolve("docker.io/library/busybox:latest").value().digest, m);
    EXPECT_EQ(store_->resolve(m).value().name, "docker.io/library/busybox:latest");
    EXPECT_EQ(store_->resolve(m.substr(7, 12)).value().digest, m);
    EXPECT_FALSE(store_->resolve(m.substr(7, 6)).ok());
    EXPECT_FALSE(store_->resolve("other").ok());
    auto mf = store_->manifestOf(m);
    ASSERT_TRUE(mf.ok());
    EXPECT_EQ(mf->layers.size(), 1u);
    ASSERT_TRUE(store_->removeImage("docker.io/library/busybox:latest").ok());
    EXPECT_FALSE(store_->removeImage("docker.io/library/busybox:latest").ok());
}

TEST_F(StoreTest, AShortNameMissingHintsAtTheStoredLocalhostName) {
    std::string m = putImage("layer-b");
    ASSERT_TRUE(store_->setImage("localhost/deb:12", m).ok());
    auto r = store_->resolve("deb:12");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(std::string(r.error().what()).find("(stored as localhost/deb:12)"), std::string::npos)
        << r.error().what();
    ASSERT_TRUE(store_->setImage("localhost/tool:latest", m).ok());
    auto t = store_->resolve("tool");
    ASSERT_FALSE(t.ok());
    EXPECT_NE(std::string(t.error().what()).find("localhost/tool:latest"), std::string::npos) << t.error().what();
    auto o = store_->resolve("eb:12");  // only whole path components
    ASSERT_FALSE(o.ok());
    EXPECT_EQ(std::string(o.error().what()).find("stored as"), std::string::npos) << o.error().what();
}

TEST_F(StoreTest, PruneKeepsWhatNamesReach) {
    std::string keep = putImage("layer-keep");
    std::string drop = putImage("layer-drop");
    ASSERT_TRUE(store_->setImage("localhost/keep:1", keep).ok());
    auto keepManifest = store_->manifestOf(keep).value();
    auto dropManifest = store_->manifestOf(drop).value();
    std::string keepSnap = store_->snapshotPath(chainIds(keepManifest)[0]);
    std::string dropSnap = store_->snapshotPath(chainIds(dropManifest)[0]);
    ASSERT_TRUE(fs::mkdirAll(keepSnap).ok());
    ASSERT_TRUE(fs::mkdirAll(dropSnap).ok());
    ASSERT_TRUE(fs::mkdirAll(dropSnap + ".tmp.1").ok());
    auto r = store_->prune();
    ASSERT_TRUE(r.ok()) << r.error().what();
    EXPECT_EQ(r->blobs, 2);  // the dropped manifest and its layer; the config is shared
    EXPECT_EQ(r->snapshots, 2);
    EXPECT_TRUE(store_->hasBlob(keep));
    EXPECT_FALSE(store_->hasBlob(drop));
    EXPECT_TRUE(fs::exists(keepSnap));
    EXPECT_FALSE(fs::exists(dropSnap));
}

TEST_F(StoreTest, APinKeepsAnImageWhoseNameIsGoneUntilUnpinned) {
    std::string m = putImage("layer-pinned");
    ASSERT_TRUE(store_->setImage("localhost/tmpl:1", m).ok());
    std::string snap = store_->snapshotPath(chainIds(store_->manifestOf(m).value())[0]);
    ASSERT_TRUE(fs::mkdirAll(snap).ok());
    ASSERT_TRUE(store_->pin("vps-web1", m).ok());
    EXPECT_EQ(store_->pins().value().at("vps-web1"), m);
    ASSERT_TRUE(store_->removeImage("localhost/tmpl:1").ok());
    // The name is gone; the full digest of a pinned image still resolves, a prefix does not.
    EXPECT_EQ(store_->resolve(m).value().digest, m);
    EXPECT_FALSE(store_->resolve(m.substr(7, 12)).ok());
    auto r = store_->prune();
    ASSERT_TRUE(r.ok()) << r.error().what();
    EXPECT_EQ(r->blobs, 0);
    EXPECT_EQ(r->snapshots, 0);
    EXPECT_TRUE(fs::exists(snap));
    // Bad owners are refused; unpinning twice is fine; then prune takes it all.
    EXPECT_FALSE(store_->pin("../x", m).ok());
    EXPECT_FALSE(store_->pin(".hidden", m).ok());
    ASSERT_TRUE(store_->unpin("vps-web1").ok());
    ASSERT_TRUE(store_->unpin("vps-web1").ok());
    EXPECT_FALSE(store_->resolve(m).ok());
    r = store_->prune();
    ASSERT_TRUE(r.ok()) << r.error().what();
    EXPECT_EQ(r->blobs, 3);
    EXPECT_EQ(r->snapshots, 1);
    EXPECT_FALSE(fs::exists(snap));
}

TEST(StoreRoot, FlagThenEnvThenDefault) {
    ::unsetenv("BERTH_STORE");
    EXPECT_EQ(storeRoot(""), "/var/lib/berth");
    ::setenv("BERTH_STORE", "/srv/store", 1);
    EXPECT_EQ(storeRoot(""), "/srv/store");
    EXPECT_EQ(storeRoot("/x"), "/x");
    ::unsetenv("BERTH_STORE");
}

TEST(ChainIds, FirstIsTheDigestThenHashed) {
    Manifest m;
    std::string a = "sha256:" + std::string(64, 'a'), b = "sha256:" + std::string(64, 'b');
    m.layers = {Descriptor{"", a, 1, {}, {}}, Descriptor{"", b, 1, {}, {}}};
    auto c = chainIds(m);
    ASSERT_EQ(c.size(), 2u);
    EXPECT_EQ(c[0], a);
    EXPECT_EQ(c[1], "sha256:" + sha256Hex(a + " " + b));
}
