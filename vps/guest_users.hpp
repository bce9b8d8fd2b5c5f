// vps/guest_users: `--userpasswd USER:PASS` — a SHA-512 crypt hash written into a VPS's
// /etc/shadow from the host, the user (passwd, group, gshadow, home) created when missing.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "common/error.hpp"

namespace berth::vps {

struct UserPassword {
    std::string user, password;
};
// USER:PASS split at the first ':'; a user name as useradd takes it, a password of one line
// without ':' (both end up in colon-separated files).
Result<UserPassword> parseUserPassword(const std::string& s);

// "$6$<16 salt chars>$<hash>" (libxcrypt: crypt_gensalt_rn + crypt_r, salt from the kernel).
Result<std::string> hashPassword(const std::string& password);

// The account files as text ("" when missing; has* tell missing from empty).
struct AccountFiles {
    std::string passwd, shadow, group, gshadow;
    bool hasShadow = false, hasGshadow = false;
};

// What setPassword did beyond the hash: the user it made (uid/gid inside the VPS, home).
struct AccountChange {
    bool createdUser = false, createdGroup = false;
    uint32_t uid = 0, gid = 0;
    std::string home;
    bool passwdChanged = false, groupChanged = false, gshadowChanged = false;
};

// Put `hash` in USER's shadow entry (lastchg = `today`, days since 1970), every other line kept
// byte for byte. A user missing from passwd is created as useradd -U would: the first free uid
// from 1000 (0 for root), a group of the same name (gid = uid when free), home /home/USER, shell
// `shell`. A passwd entry whose password field is not "x" gets "x" (the hash is in shadow).
Result<AccountChange> setPassword(AccountFiles& f, const std::string& user, const std::string& hash,
                                  long today, const std::string& shell);

// Apply USER:PASS to the rootfs mounted at rootfsDir: files resolved inside it (openat2
// RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS: a symlink the VPS planted never leads out), each
// replaced atomically (temp file + rename; a symlink at the name is replaced, not followed),
// owners and modes kept; new files, the home dir and its parent owned by the VPS's ids
// (hostBase + id inside).
Status applyUserPassword(const std::string& rootfsDir, const std::string& userpasswd,
                         uid_t hostBase);

}  // namespace berth::vps
