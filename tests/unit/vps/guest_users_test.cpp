#include "vps/guest_users.hpp"

#include <crypt.h>
#include <gtest/gtest.h>

#include <cstring>

using namespace berth::vps;

namespace {

constexpr const char* kHash = "$6$saltsaltsaltsalt$abc";

AccountFiles debianLike() {
    AccountFiles f;
    f.passwd =
        "root:x:0:0:root:/root:/bin/bash\n"
        "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
        "bob:x:1000:1000:Bob,,,:/home/bob:/bin/bash\n"
        "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
    f.shadow =
        "root:*:19000:0:99999:7:::\n"
        "daemon:*:19000:0:99999:7:::\n"
        "bob:$6$old$oldhash:19001:0:99999:7:::\n"
        "nobody:*:19000:0:99999:7:::\n";
    f.group = "root:x:0:\nshadow:x:42:\nbob:x:1000:\nusers:x:100:\nnogroup:x:65534:\n";
    f.gshadow = "root:*::\nshadow:*::\nbob:!::\n";
    f.hasShadow = f.hasGshadow = true;
    return f;
}

}  // namespace

TEST(GuestUsers, ParseSplitsAtTheFirstColonAndRejectsColonsAndNewlines) {
    auto up = parseUserPassword("alice:s3cret pass");
    ASSERT_TRUE(up.ok());
    EXPECT_EQ(up->user, "alice");
    EXPECT_EQ(up->password, "s3cret pass");
    EXPECT_FALSE(parseUserPassword("alice").ok());
    EXPECT_FALSE(parseUserPassword(":pw").ok());
    EXPECT_FALSE(parseUserPassword("alice:").ok());
    auto colon = parseUserPassword("alice:a:b");
    ASSERT_FALSE(colon.ok());
    EXPECT_NE(colon.error().message().find("must not contain ':'"), std::string::npos);
    EXPECT_FALSE(parseUserPassword("alice:a\nroot::0:0::/:/bin/sh").ok());
    EXPECT_FALSE(parseUserPassword("al/ice:pw").ok());
    auto nl = parseUserPassword("ali\nce:pw");
    ASSERT_FALSE(nl.ok());
    EXPECT_EQ(nl.error().message().find('\n'), std::string::npos);
    EXPECT_FALSE(parseUserPassword("-alice:pw").ok());
    EXPECT_FALSE(parseUserPassword(std::string(33, 'a') + ":pw").ok());
}

TEST(GuestUsers, HashIsSha512CryptAndVerifies) {
    auto h = hashPassword("hunter2");
    ASSERT_TRUE(h.ok()) << h.error().message();
    ASSERT_EQ(h->rfind("$6$", 0), 0u);
    struct crypt_data d;
    std::memset(&d, 0, sizeof d);
    EXPECT_STREQ(crypt_r("hunter2", h->c_str(), &d), h->c_str());
    std::memset(&d, 0, sizeof d);
    EXPECT_STRNE(crypt_r("hunter3", h->c_str(), &d), h->c_str());
    EXPECT_NE(*hashPassword("hunter2"), *h);  // a fresh salt each time
}

TEST(GuestUsers, ExistingUserGetsTheHashAndEveryOtherLineStaysByteForByte) {
    AccountFiles f = debianLike();
    AccountFiles before = f;
    auto ch = setPassword(f, "bob", kHash, 20000, "/bin/sh");
    ASSERT_TRUE(ch.ok()) << ch.error().message();
    EXPECT_FALSE(ch->createdUser);
    EXPECT_EQ(ch->uid, 1000u);
    EXPECT_FALSE(ch->passwdChanged);
    EXPECT_EQ(f.passwd, before.passwd);
    EXPECT_EQ(f.group, before.group);
    EXPECT_EQ(f.gshadow, before.gshadow);
    EXPECT_EQ(f.shadow,
              "root:*:19000:0:99999:7:::\n"
              "daemon:*:19000:0:99999:7:::\n"
              "bob:$6$saltsaltsaltsalt$abc:20000:0:99999:7:::\n"
              "nobody:*:19000:0:99999:7:::\n");
}

TEST(GuestUsers, NameMatchIsTheWholeFirstField) {
    AccountFiles f = debianLike();
    f.passwd += "bobby:x:1001:1001::/home/bobby:/bin/sh\n";
    f.shadow += "bobby:!:19000:0:99999:7:::\n";
    ASSERT_TRUE(setPassword(f, "bobby", kHash, 20000, "/bin/sh").ok());
    EXPECT_NE(f.shadow.find("bob:$6$old$oldhash:19001:"), std::string::npos);
    EXPECT_NE(f.shadow.find("bobby:$6$saltsaltsaltsalt$abc:20000:"), std::string::npos);
}

TEST(GuestUsers, MissingUserIsCreatedWithGroupGshadowAndFreeIds) {
    AccountFiles f = debianLike();
    auto ch = setPassword(f, "alice", kHash, 20000, "/bin/bash");
    ASSERT_TRUE(ch.ok()) << ch.error().message();
    EXPECT_TRUE(ch->createdUser);
    EXPECT_TRUE(ch->createdGroup);
    EXPECT_EQ(ch->uid, 1001u);  // 1000 is bob's
    EXPECT_EQ(ch->gid, 1001u);
    EXPECT_EQ(ch->home, "/home/alice");
    EXPECT_NE(f.passwd.find("\nalice:x:1001:1001::/home/alice:/bin/bash\n"), std::string::npos);
    EXPECT_NE(f.group.find("\nalice:x:1001:\n"), std::string::npos);
    EXPECT_NE(f.gshadow.find("\nalice:!::\n"), std::string::npos);
    EXPECT_NE(f.shadow.find("\nalice:$6$saltsaltsaltsalt$abc:20000:0:99999:7:::\n"),
              std::string::npos);
    // What was there is a prefix of what is there now.
    AccountFiles before = debianLike();
    EXPECT_EQ(f.passwd.rfind(before.passwd, 0), 0u);
    EXPECT_EQ(f.shadow.rfind(before.shadow, 0), 0u);
}

TEST(GuestUsers, GidFollowsAnExistingGroupOrTheNextFreeOne) {
    AccountFiles f = debianLike();
    f.group += "carol:x:2000:\n";
    auto ch = setPassword(f, "carol", kHash, 20000, "/bin/sh");
    ASSERT_TRUE(ch.ok());
    EXPECT_EQ(ch->gid, 2000u);
    EXPECT_FALSE(ch->createdGroup);
    AccountFiles g = debianLike();
    g.group += "x:x:1001:\n";  // the uid 1001 is taken as a gid
    auto ch2 = setPassword(g, "dave", kHash, 20000, "/bin/sh");
    ASSERT_TRUE(ch2.ok());
    EXPECT_EQ(ch2->uid, 1001u);
    EXPECT_EQ(ch2->gid, 1002u);
}

TEST(GuestUsers, BusyboxStylePasswdWithoutShadow) {
    AccountFiles f;
    f.passwd = "root::0:0:root:/root:/bin/sh";  // no trailing newline, empty password field
    auto ch = setPassword(f, "root", kHash, 20000, "/bin/sh");
    ASSERT_TRUE(ch.ok());
    EXPECT_TRUE(ch->passwdChanged);
    EXPECT_EQ(f.passwd, "root:x:0:0:root:/root:/bin/sh");
    EXPECT_TRUE(f.hasShadow);
    EXPECT_EQ(f.shadow, "root:$6$saltsaltsaltsalt$abc:20000:0:99999:7:::\n");
}

TEST(GuestUsers, NoFilesAtAllCreatesRoot) {
    AccountFiles f;
    auto ch = setPassword(f, "root", kHash, 20000, "/bin/sh");
    ASSERT_TRUE(ch.ok());
    EXPECT_EQ(ch->uid, 0u);
    EXPECT_EQ(f.passwd, "root:x:0:0::/root:/bin/sh\n");
    EXPECT_EQ(f.group, "root:x:0:\n");
}

TEST(GuestUsers, ShortShadowLineIsPadded) {
    AccountFiles f = debianLike();
    f.shadow = "bob:old\n";
    ASSERT_TRUE(setPassword(f, "bob", kHash, 20000, "/bin/sh").ok());
    EXPECT_EQ(f.shadow, "bob:$6$saltsaltsaltsalt$abc:20000\n");
}

TEST(GuestUsers, BadUserOrHashIsRefused) {
    AccountFiles f = debianLike();
    EXPECT_FALSE(setPassword(f, "a:b", kHash, 1, "/bin/sh").ok());
    EXPECT_FALSE(setPassword(f, "bob", "x:y", 1, "/bin/sh").ok());
    EXPECT_EQ(f.shadow, debianLike().shadow);
}
