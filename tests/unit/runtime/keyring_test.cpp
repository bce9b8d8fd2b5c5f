#include <gtest/gtest.h>

#include "runtime/security/security.hpp"

using namespace berth;
using runtime::security::searchableKeyringPerm;

TEST(SessionKeyring, NamedForTheContainerAsRunc) {
    EXPECT_EQ(runtime::security::sessionKeyringName("web-1"), "_ses.web-1");
}

TEST(SessionKeyring, SearchForTheOwnerOrInAUserNamespaceForOthers) {
    // What KEYCTL_DESCRIBE gives for a new session keyring: possessor all, user view+read.
    EXPECT_EQ(*searchableKeyringPerm("keyring;0;0;3f010000;_ses.c1", false), 0x3f090000u);
    EXPECT_EQ(*searchableKeyringPerm("keyring;100000;100000;3f010000;_ses.c1", true), 0x3f010008u);
    // The description may hold ';' itself; only the fourth field counts.
    EXPECT_EQ(*searchableKeyringPerm("keyring;0;0;3f1b0000;_ses.a;b", false), 0x3f1b0000u);
}

TEST(SessionKeyring, ABadDescriptionIsOneError) {
    auto r = searchableKeyringPerm("keyring;0;0", false);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().what(), "keyring description without a perm field: keyring;0;0");
    EXPECT_FALSE(searchableKeyringPerm("keyring;0;0;zz;x", false).ok());
    EXPECT_FALSE(searchableKeyringPerm("keyring;0;0;;x", false).ok());
    EXPECT_FALSE(searchableKeyringPerm("keyring;0;0;123456789;x", false).ok());
}
