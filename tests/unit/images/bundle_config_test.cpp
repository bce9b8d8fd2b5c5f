#include <gtest/gtest.h>

#include "images/bundle_config.hpp"

using namespace berth::images;
using nlohmann::json;

namespace {

const char* kPasswd = "root:x:0:0:root:/root:/bin/sh\n# comment\napp:x:1000:1001:App:/home/app:/bin/sh\n"
                      "broken-line\nnobody:x:65534:65534::/:/bin/false\n";
const char* kGroup = "root:x:0:\napp:x:1001:\nwheel:x:10:app,other\naudio:x:29:other\nstaff:x:50:app\n";

json baseSpec() {
    return json{{"process",
                 {{"terminal", true},
                  {"args", {"sh"}},
                  {"env", {"PATH=/usr/bin:/bin", "TERM=xterm"}},
                  {"cwd", "/"},
                  {"user", {{"uid", 0}, {"gid", 0}}}}},
                {"root", {{"path", "rootfs"}, {"readonly", true}}}};
}

}  // namespace

TEST(ResolveUser, Forms) {
    auto r = resolveUser("", kPasswd, kGroup);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->uid, 0u);
    auto app = resolveUser("app", kPasswd, kGroup);
    ASSERT_TRUE(app.ok());
    EXPECT_EQ(app->uid, 1000u);
    EXPECT_EQ(app->gid, 1001u);
    EXPECT_EQ(app->additionalGids, (std::vector<uint32_t>{10, 50}));
    auto byUid = resolveUser("1000", kPasswd, kGroup);
    EXPECT_EQ(byUid->gid, 1001u);
    auto unknownUid = resolveUser("4242", kPasswd, kGroup);
    ASSERT_TRUE(unknownUid.ok());
    EXPECT_EQ(unknownUid->uid, 4242u);
    EXPECT_EQ(unknownUid->gid, 0u);
    auto ug = resolveUser("app:wheel", kPasswd, kGroup);
    EXPECT_EQ(ug->gid, 10u);
    EXPECT_TRUE(ug->additionalGids.empty());
    auto numeric = resolveUser("7:8", kPasswd, kGroup);
    EXPECT_EQ(numeric->uid, 7u);
    EXPECT_EQ(numeric->gid, 8u);
    auto nob = resolveUser("nobody:audio", kPasswd, kGroup);
    EXPECT_EQ(nob->uid, 65534u);
    EXPECT_EQ(nob->gid, 29u);
}

TEST(ResolveUser, UnknownNamesAreErrors) {
    EXPECT_FALSE(resolveUser("ghost", kPasswd, kGroup).ok());
    EXPECT_FALSE(resolveUser("app:ghosts", kPasswd, kGroup).ok());
    EXPECT_FALSE(resolveUser("ghost", "", "").ok());
    EXPECT_TRUE(resolveUser("0", "", "").ok());
}

TEST(SpecFromImage, AppliesConfig) {
    ImageConfig c;
    c.entrypoint = {"/bin/app", "--serve"};
    c.cmd = {"--port", "80"};
    c.env = {"PATH=/app/bin", "MODE=prod"};
    c.workingDir = "/srv";
    c.stopSignal = "SIGQUIT";
    c.labels = {{"org.example.k", "v"}};
    UserIds ids{1000, 1001, {10}};
    auto s = specFromImage(c, baseSpec(), ids, {});
    ASSERT_TRUE(s.ok()) << s.error().what();
    const json& p = (*s)["process"];
    EXPECT_EQ(p["args"], json({"/bin/app", "--serve", "--port", "80"}));
    EXPECT_EQ(p["env"], json({"TERM=xterm", "PATH=/app/bin", "MODE=prod"}));
    EXPECT_EQ(p["cwd"], "/srv");
    EXPECT_EQ(p["terminal"], false);
    EXPECT_EQ(p["user"]["uid"], 1000);
    EXPECT_EQ(p["user"]["gid"], 1001);
    EXPECT_EQ(p["user"]["additionalGids"], json({10}));
    EXPECT_EQ((*s)["root"]["readonly"], false);
    EXPECT_EQ((*s)["annotations"]["org.opencontainers.image.stopSignal"], "SIGQUIT");
    EXPECT_EQ((*s)["annotations"]["org.example.k"], "v");
}

TEST(SpecFromImage, ArgsReplaceCmdNotEntrypoint) {
    ImageConfig c;
    c.entrypoint = {"/bin/ep"};
    c.cmd = {"default"};
    auto s = specFromImage(c, baseSpec(), {}, {"x", "y"});
    EXPECT_EQ((*s)["process"]["args"], json({"/bin/ep", "x", "y"}));
    ImageConfig cmdOnly;
    cmdOnly.cmd = {"sh"};
    auto t = specFromImage(cmdOnly, baseSpec(), {}, {"echo", "hi"});
    EXPECT_EQ((*t)["process"]["args"], json({"echo", "hi"}));
    EXPECT_EQ((*t)["process"]["env"], json({"PATH=/usr/bin:/bin", "TERM=xterm"}));
    EXPECT_FALSE((*t).contains("annotations"));
}

TEST(SpecFromImage, NoCommandIsAnError) {
    EXPECT_FALSE(specFromImage(ImageConfig{}, baseSpec(), {}, {}).ok());
}

// berth bundle of an image without Entrypoint/Cmd (podman import): the base spec's command, as
// umoci does; given args still win.
TEST(SpecFromImage, NoCommandKeepsTheBaseCommandWhenAsked) {
    json base = baseSpec();
    base["process"]["args"] = json({"sh"});
    auto s = specFromImage(ImageConfig{}, base, {}, {}, /*keepBaseCommand=*/true);
    ASSERT_TRUE(s.ok()) << s.error().what();
    EXPECT_EQ((*s)["process"]["args"], json({"sh"}));
    auto t = specFromImage(ImageConfig{}, base, {}, {"echo", "hi"}, true);
    EXPECT_EQ((*t)["process"]["args"], json({"echo", "hi"}));
    base["process"].erase("args");
    EXPECT_FALSE(specFromImage(ImageConfig{}, base, {}, {}, true).ok());
}
