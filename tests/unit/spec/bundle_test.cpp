// loadFromBundle: reading <bundle>/config.json and resolving root.path against the bundle.
#include <gtest/gtest.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "common/fs.hpp"
#include "runtime/spec/spec.hpp"

using namespace berth;

namespace {

const char* const kConfig = R"({"ociVersion": "1.0.2-dev", "root": {"path": "%ROOT%"},
  "process": {"args": ["sh"], "cwd": "/"}})";

class Bundle : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/berth-spec-bundle-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        char real[PATH_MAX];
        ASSERT_NE(::realpath(tmpl, real), nullptr);  // /tmp may itself be a symlink
        dir_ = real;
    }
    void TearDown() override { ASSERT_TRUE(fs::removeAll(dir_).ok()); }

    void writeConfig(const std::string& root) {
        std::string text = kConfig;
        text.replace(text.find("%ROOT%"), 6, root);
        ASSERT_TRUE(fs::writeFileAtomic(dir_ + "/config.json", text).ok());
    }
    void mkdir(const std::string& rel) { ASSERT_TRUE(fs::mkdirAll(dir_ + "/" + rel).ok()); }

    std::string dir_;
};

}  // namespace

TEST_F(Bundle, MissingConfigNamesThePathAndErrno) {
    auto r = runtime::spec::loadFromBundle(dir_);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().err(), ENOENT);
    EXPECT_EQ(r.error().what(),
              "config.json: open " + dir_ + "/config.json: No such file or directory");
}

TEST_F(Bundle, MissingBundleDirectory) {
    auto r = runtime::spec::loadFromBundle(dir_ + "/nope");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().err(), ENOENT);
    EXPECT_EQ(r.error().message(), "config.json: open " + dir_ + "/nope/config.json");
}

TEST_F(Bundle, RelativeRootIsResolvedAgainstTheBundle) {
    mkdir("rootfs");
    writeConfig("rootfs");
    auto r = runtime::spec::loadFromBundle(dir_);
    ASSERT_TRUE(r.ok()) << r.error().what();
    EXPECT_EQ(r->root.path, dir_ + "/rootfs");
    EXPECT_EQ(r->ociVersion, "1.0.2-dev");
}

TEST_F(Bundle, RelativeRootWithDotsIsCleaned) {
    mkdir("images/alpine");
    mkdir("b");
    std::string bundle = dir_ + "/b";
    std::string text = kConfig;
    text.replace(text.find("%ROOT%"), 6, "./../images/alpine/");
    ASSERT_TRUE(fs::writeFileAtomic(bundle + "/config.json", text).ok());
    auto r = runtime::spec::loadFromBundle(bundle + "/");
    ASSERT_TRUE(r.ok()) << r.error().what();
    EXPECT_EQ(r->root.path, dir_ + "/images/alpine");
}

TEST_F(Bundle, AbsoluteRootIsKept) {
    mkdir("elsewhere/root");
    writeConfig(dir_ + "/elsewhere/root");
    auto r = runtime::spec::loadFromBundle(dir_);
    ASSERT_TRUE(r.ok()) << r.error().what();
    EXPECT_EQ(r->root.path, dir_ + "/elsewhere/root");
}

TEST_F(Bundle, SymlinkedRootBecomesItsTarget) {
    mkdir("real-root");
    ASSERT_EQ(::symlink("real-root", (dir_ + "/rootfs").c_str()), 0);
    writeConfig("rootfs");
    auto r = runtime::spec::loadFromBundle(dir_);
    ASSERT_TRUE(r.ok()) << r.error().what();
    EXPECT_EQ(r->root.path, dir_ + "/real-root");
}

TEST_F(Bundle, RelativeBundlePathIsMadeAbsolute) {
    mkdir("rootfs");
    writeConfig("rootfs");
    char cwd[PATH_MAX];
    ASSERT_NE(::getcwd(cwd, sizeof cwd), nullptr);
    ASSERT_EQ(::chdir(dir_.c_str()), 0);
    auto r = runtime::spec::loadFromBundle(".");
    ASSERT_EQ(::chdir(cwd), 0);
    ASSERT_TRUE(r.ok()) << r.error().what();
    EXPECT_EQ(r->root.path, dir_ + "/rootfs");
}

TEST_F(Bundle, MissingRootfs) {
    writeConfig("rootfs");
    auto r = runtime::spec::loadFromBundle(dir_);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().what(), "rootfs " + dir_ + "/rootfs: does not exist");
}

TEST_F(Bundle, RootfsThatIsAFile) {
    ASSERT_TRUE(fs::writeFileAtomic(dir_ + "/rootfs", "not a dir").ok());
    writeConfig("rootfs");
    auto r = runtime::spec::loadFromBundle(dir_);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().what(), "rootfs " + dir_ + "/rootfs: is not a directory");
}

TEST_F(Bundle, InvalidConfigIsReportedAsConfigJson) {
    mkdir("rootfs");
    ASSERT_TRUE(fs::writeFileAtomic(dir_ + "/config.json", R"({"ociVersion": "3.0.0"})").ok());
    auto r = runtime::spec::loadFromBundle(dir_);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().what(),
              "config.json: ociVersion: unsupported version \"3.0.0\" (berth supports 1.0 to 1.2)");
}
