#include <gtest/gtest.h>

#include "images/layer_path.hpp"

using namespace berth::images;

TEST(LayerPath, CleansNames) {
    EXPECT_EQ(cleanEntryPath("./a//b/").value(), "a/b");
    EXPECT_EQ(cleanEntryPath("a/./b").value(), "a/b");
    EXPECT_EQ(cleanEntryPath(".").value(), "");
    EXPECT_EQ(cleanEntryPath("./").value(), "");
    EXPECT_EQ(cleanEntryPath("etc/passwd").value(), "etc/passwd");
    EXPECT_EQ(cleanEntryPath("a/..b").value(), "a/..b");
}

TEST(LayerPath, RefusesEscapes) {
    EXPECT_FALSE(cleanEntryPath("/etc/passwd").ok());
    EXPECT_FALSE(cleanEntryPath("../x").ok());
    EXPECT_FALSE(cleanEntryPath("a/../../x").ok());
    EXPECT_FALSE(cleanEntryPath("a/..").ok());
    EXPECT_FALSE(cleanEntryPath("").ok());
}

TEST(Whiteout, Classify) {
    auto f = classifyWhiteout("etc/.wh.passwd");
    EXPECT_EQ(f.kind, WhiteoutKind::File);
    EXPECT_EQ(f.target, "etc/passwd");
    auto top = classifyWhiteout(".wh.tmp");
    EXPECT_EQ(top.kind, WhiteoutKind::File);
    EXPECT_EQ(top.target, "tmp");
    auto o = classifyWhiteout("var/cache/.wh..wh..opq");
    EXPECT_EQ(o.kind, WhiteoutKind::Opaque);
    EXPECT_EQ(o.target, "var/cache");
    EXPECT_EQ(classifyWhiteout(".wh..wh..opq").target, "");
    EXPECT_EQ(classifyWhiteout("a/.wh..wh.plnk").kind, WhiteoutKind::Meta);
    EXPECT_EQ(classifyWhiteout("a/.wh.").kind, WhiteoutKind::Meta);
    EXPECT_EQ(classifyWhiteout("a/x.wh.y").kind, WhiteoutKind::None);
    EXPECT_EQ(classifyWhiteout("a/.whx").kind, WhiteoutKind::None);
}

TEST(LayerPath, SplitParent) {
    EXPECT_EQ(splitParent("a/b/c"), std::make_pair(std::string("a/b"), std::string("c")));
    EXPECT_EQ(splitParent("c"), std::make_pair(std::string(""), std::string("c")));
}
