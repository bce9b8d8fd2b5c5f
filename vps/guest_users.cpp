// vps/guest_users: passwords and users written into a VPS's account files from the host.
#include "vps/guest_users.hpp"

#include <crypt.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "common/unique_fd.hpp"
#include "namespaces/rootfs_path.hpp"

namespace berth::vps {
namespace {

constexpr uint64_t kInRoot = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
constexpr off_t kMaxAccountFile = 16 << 20;  // a tenant's file: never read a huge one into memory
constexpr uint32_t kFirstUid = 1000, kLastUid = 59999;  // Debian's FIRST_UID..LAST_UID

std::vector<std::string> splitFields(const std::string& line) {
    std::vector<std::string> out;
    size_t start = 0;
    for (;;) {
        size_t c = line.find(':', start);
        out.push_back(line.substr(start, c == std::string::npos ? std::string::npos : c - start));
        if (c == std::string::npos) return out;
        start = c + 1;
    }
}

std::string joinFields(const std::vector<std::string>& f) {
    std::string out;
    for (size_t i = 0; i < f.size(); i++) out += (i ? ":" : "") + f[i];
    return out;
}

// The [begin, end) of USER's line (end before its '\n'), or npos.
std::pair<size_t, size_t> findEntry(const std::string& text, const std::string& user) {
    size_t pos = 0;
    while (pos < text.size()) {
        size_t end = text.find('\n', pos);
        if (end == std::string::npos) end = text.size();
        if (text.compare(pos, user.size(), user) == 0 && pos + user.size() < end &&
            text[pos + user.size()] == ':')
            return {pos, end};
        pos = end + 1;
    }
    return {std::string::npos, std::string::npos};
}

// Change field `index` of USER's line (padding missing fields); false when there is no line.
bool setField(std::string& text, const std::string& user, size_t index, const std::string& value) {
    auto [b, e] = findEntry(text, user);
    if (b == std::string::npos) return false;
    auto f = splitFields(text.substr(b, e - b));
    if (f.size() <= index) f.resize(index + 1);
    f[index] = value;
    text.replace(b, e - b, joinFields(f));
    return true;
}

void appendLine(std::string& text, const std::string& line) {
    if (!text.empty() && text.back() != '\n') text += '\n';
    text += line + "\n";
}

// The ids in field `index` of every line (uids of passwd, gids of group).
std::set<uint32_t> idsIn(const std::string& text, size_t index) {
    std::set<uint32_t> ids;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t end = text.find('\n', pos);
        if (end == std::string::npos) end = text.size();
        auto f = splitFields(text.substr(pos, end - pos));
        if (f.size() > index && !f[index].empty() && f[index].size() < 10 &&
            f[index].find_first_not_of("0123456789") == std::string::npos)
            ids.insert(static_cast<uint32_t>(std::stoul(f[index])));
        pos = end + 1;
    }
    return ids;
}

// The gid of group NAME in /etc/group's text.
std::optional<uint32_t> groupId(const std::string& group, const std::string& name) {
    auto [b, e] = findEntry(group, name);
    if (b == std::string::npos) return std::nullopt;
    auto f = splitFields(group.substr(b, e - b));
    if (f.size() < 3 || f[2].empty() || f[2].size() > 9 ||
        f[2].find_first_not_of("0123456789") != std::string::npos)
        return std::nullopt;
    return static_cast<uint32_t>(std::stoul(f[2]));
}

Result<uint32_t> firstFree(const std::set<uint32_t>& used, const char* what) {
    for (uint32_t id = kFirstUid; id <= kLastUid; id++)
        if (!used.count(id)) return id;
    return Error::make("no free ", what, " in ", kFirstUid, "..", kLastUid);
}

Status validUser(const std::string& user) {
    bool ok = !user.empty() && user.size() <= 32 && user[0] != '-';
    for (char c : user)
        ok =
            ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.');
    if (ok) return {};
    bool printable = true;  // never echo a newline into the one error line
    for (char c : user) printable = printable && std::isprint(static_cast<unsigned char>(c));
    if (!printable)
        return Error::make(
            "--userpasswd: invalid user name (letters, digits, '_', '-', '.'; one line)");
    return Error::make("--userpasswd: invalid user name \"", user,
                       "\" (letters, digits, '_', '-', '.')");
}

// A user missing from passwd: its group (an existing one of the same name, or a new one) and
// its passwd line.
Status createUser(AccountFiles& f, const std::string& user, const std::string& shell,
                  AccountChange& ch) {
    ch.createdUser = true;
    if (user == "root") {
        ch.uid = 0;
    } else {
        ASSIGN_OR_RETURN(ch.uid, firstFree(idsIn(f.passwd, 2), "uid"));
    }
    if (findEntry(f.group, user).first != std::string::npos) {
        auto gid = groupId(f.group, user);
        if (!gid)
            return Error::make("/etc/group: the entry of group \"", user, "\" has no numeric gid");
        ch.gid = *gid;
    } else {
        auto gids = idsIn(f.group, 2);
        if (!gids.count(ch.uid)) {
            ch.gid = ch.uid;
        } else {
            ASSIGN_OR_RETURN(ch.gid, firstFree(gids, "gid"));
        }
        appendLine(f.group, strCat(user, ":x:", ch.gid, ":"));
        ch.createdGroup = ch.groupChanged = true;
        if (f.hasGshadow) {
            appendLine(f.gshadow, user + ":!::");
            ch.gshadowChanged = true;
        }
    }
    ch.home = user == "root" ? "/root" : "/home/" + user;
    appendLine(f.passwd, strCat(user, ":x:", ch.uid, ":", ch.gid, "::", ch.home, ":", shell));
    ch.passwdChanged = true;
    return {};
}

}  // namespace

Result<UserPassword> parseUserPassword(const std::string& s) {
    size_t colon = s.find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == s.size())
        return Error::make("--userpasswd: expected USER:PASSWORD");
    UserPassword up{s.substr(0, colon), s.substr(colon + 1)};
    TRY(validUser(up.user));
    for (char c : up.password) {
        if (c == ':')
            return Error::make("--userpasswd: the password of \"", up.user,
                               "\" must not contain ':'");
        if (c == '\n' || c == '\r' || c == '\0')
            return Error::make("--userpasswd: the password of \"", up.user, "\" must be one line");
    }
    return up;
}

// libcrypt is dlopened here, its only user: linked, every berth start loaded and relocated it.
struct CryptApi {
    decltype(&::crypt_gensalt_rn) gensalt = nullptr;
    decltype(&::crypt_r) crypt = nullptr;
};

Result<CryptApi> loadCrypt() {
    void* h = ::dlopen("libcrypt.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!h) return Error::make("--userpasswd: cannot load libcrypt.so.1: ", ::dlerror());
    CryptApi api;
    api.gensalt = reinterpret_cast<decltype(api.gensalt)>(::dlsym(h, "crypt_gensalt_rn"));
    api.crypt = reinterpret_cast<decltype(api.crypt)>(::dlsym(h, "crypt_r"));
    if (!api.gensalt || !api.crypt) return Error::make("--userpasswd: libcrypt.so.1 lacks crypt_gensalt_rn or crypt_r");
    return api;
}

Result<std::string> hashPassword(const std::string& password) {
    ASSIGN_OR_RETURN(CryptApi api, loadCrypt());
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    if (!api.gensalt("$6$", 0, nullptr, 0, salt, sizeof salt))
        return Error::fromErrno("crypt_gensalt_rn($6$)");
    auto data = std::make_unique<struct crypt_data>();
    std::memset(data.get(), 0, sizeof *data);
    const char* h = api.crypt(password.c_str(), salt, data.get());
    if (!h || h[0] == '*') return Error::fromErrno("crypt_r (SHA-512)");
    std::string out = h;
    ::explicit_bzero(data.get(), sizeof *data);
    return out;
}

Result<AccountChange> setPassword(AccountFiles& f, const std::string& user, const std::string& hash,
                                  long today, const std::string& shell) {
    TRY(validUser(user));
    if (hash.find_first_of(":\n") != std::string::npos)
        return Error::make("a password hash must not contain ':'");
    AccountChange ch;
    auto [b, e] = findEntry(f.passwd, user);
    if (b == std::string::npos) {
        TRY(createUser(f, user, shell, ch));
    } else {
        auto pf = splitFields(f.passwd.substr(b, e - b));
        if (pf.size() > 3) {
            ch.uid = static_cast<uint32_t>(std::strtoul(pf[2].c_str(), nullptr, 10));
            ch.gid = static_cast<uint32_t>(std::strtoul(pf[3].c_str(), nullptr, 10));
        }
        if (pf.size() < 2 || pf[1] != "x") ch.passwdChanged = setField(f.passwd, user, 1, "x");
    }
    if (!setField(f.shadow, user, 1, hash)) {
        appendLine(f.shadow, strCat(user, ":", hash, ":", today, ":0:99999:7:::"));
    } else {
        setField(f.shadow, user, 2, std::to_string(today));
    }
    f.hasShadow = true;
    return ch;
}

namespace {

struct FileInfo {
    bool exists = false;
    uid_t uid = 0;
    gid_t gid = 0;
    mode_t mode = 0;
};

// Read ROOT/etc/NAME (symlinks resolved inside the root only); not there: exists = false.
Result<FileInfo> readEtcFile(int rootFd, const char* name, std::string& out) {
    FileInfo fi;
    std::string rel = std::string("etc/") + name;
    UniqueFd fd(
        namespaces::openat2(rootFd, rel, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, kInRoot));
    if (!fd) {
        if (errno == ENOENT) return fi;
        return Error::fromErrno("open /etc/", name, " in the VPS");
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) < 0) return Error::fromErrno("stat /etc/", name);
    if (!S_ISREG(st.st_mode))
        return Error::make("/etc/", name, " in the VPS is not a regular file");
    if (st.st_size > kMaxAccountFile)
        return Error::make("/etc/", name, " in the VPS is too large (", st.st_size, " bytes)");
    out.clear();
    char buf[8192];
    for (;;) {
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0) return Error::fromErrno("read /etc/", name);
        if (n == 0) break;
        out.append(buf, static_cast<size_t>(n));
        if (out.size() > static_cast<size_t>(kMaxAccountFile))
            return Error::make("/etc/", name, " in the VPS is too large");
    }
    fi = {true, st.st_uid, st.st_gid, static_cast<mode_t>(st.st_mode & 07777)};
    return fi;
}

// Replace etc/NAME with `data` atomically: temp file (O_EXCL, O_NOFOLLOW), owner, mode, fsync,
// rename over whatever is there (a planted symlink is replaced, never written through).
Status replaceEtcFile(int etcFd, const char* name, const std::string& data, const FileInfo& fi) {
    std::string tmp = std::string(".") + name + ".berth-tmp";
    ::unlinkat(etcFd, tmp.c_str(), 0);
    UniqueFd fd(
        ::openat(etcFd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd) return Error::fromErrno("create /etc/", tmp, " in the VPS");
    ScopeGuard removeTmp([&] { ::unlinkat(etcFd, tmp.c_str(), 0); });
    for (size_t off = 0; off < data.size();) {
        ssize_t n = ::write(fd.get(), data.data() + off, data.size() - off);
        if (n < 0) return Error::fromErrno("write /etc/", name);
        off += static_cast<size_t>(n);
    }
    if (::fchown(fd.get(), fi.uid, fi.gid) < 0) return Error::fromErrno("chown /etc/", name);
    if (::fchmod(fd.get(), fi.mode) < 0) return Error::fromErrno("chmod /etc/", name);
    if (::fsync(fd.get()) < 0) return Error::fromErrno("fsync /etc/", name);
    if (::renameat(etcFd, tmp.c_str(), etcFd, name) < 0)
        return Error::fromErrno("rename /etc/", name);
    removeTmp.dismiss();
    return {};
}

// ROOT/NAME as a directory fd resolved in the root; made (mode, owned by the VPS's root) if
// missing.
Result<UniqueFd> openOrMakeDir(int rootFd, const char* name, mode_t mode, uid_t base) {
    UniqueFd fd(namespaces::openat2(rootFd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC, kInRoot));
    if (fd || errno != ENOENT) {
        if (!fd) return Error::fromErrno("open /", name, " in the VPS");
        return fd;
    }
    if (::mkdirat(rootFd, name, mode) < 0 && errno != EEXIST)
        return Error::fromErrno("mkdir /", name, " in the VPS");
    if (::fchownat(rootFd, name, base, base, AT_SYMLINK_NOFOLLOW) < 0)
        return Error::fromErrno("chown /", name);
    fd.reset(namespaces::openat2(rootFd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC, kInRoot));
    if (!fd) return Error::fromErrno("open /", name, " in the VPS");
    return fd;
}

bool existsInRoot(int rootFd, const char* rel) {
    UniqueFd fd(namespaces::openat2(rootFd, rel, O_PATH | O_CLOEXEC, kInRoot));
    return fd.valid();
}

// The home dir of a user setPassword made (left alone when it exists).
Status makeHome(int rootFd, const AccountChange& ch, const std::string& user, uid_t base) {
    if (!ch.createdUser || ch.uid == 0) return {};
    ASSIGN_OR_RETURN(UniqueFd home, openOrMakeDir(rootFd, "home", 0755, base));
    if (::mkdirat(home.get(), user.c_str(), 0700) < 0) {
        if (errno == EEXIST) return {};
        return Error::fromErrno("mkdir /home/", user, " in the VPS");
    }
    if (::fchownat(home.get(), user.c_str(), base + ch.uid, base + ch.gid, AT_SYMLINK_NOFOLLOW) < 0)
        return Error::fromErrno("chown /home/", user);
    return {};
}

}  // namespace

Status applyUserPassword(const std::string& rootfsDir, const std::string& userpasswd, uid_t base) {
    ASSIGN_OR_RETURN(UserPassword up, parseUserPassword(userpasswd));
    ASSIGN_OR_RETURN(std::string hash, hashPassword(up.password));
    ::explicit_bzero(up.password.data(), up.password.size());
    ASSIGN_OR_RETURN(auto root, namespaces::RootDir::open(rootfsDir));
    ASSIGN_OR_RETURN(UniqueFd etc, openOrMakeDir(root.fd(), "etc", 0755, base));
    AccountFiles f;
    ASSIGN_OR_RETURN(FileInfo passwdInfo, readEtcFile(root.fd(), "passwd", f.passwd));
    ASSIGN_OR_RETURN(FileInfo groupInfo, readEtcFile(root.fd(), "group", f.group));
    ASSIGN_OR_RETURN(FileInfo shadowInfo, readEtcFile(root.fd(), "shadow", f.shadow));
    ASSIGN_OR_RETURN(FileInfo gshadowInfo, readEtcFile(root.fd(), "gshadow", f.gshadow));
    f.hasShadow = shadowInfo.exists;
    f.hasGshadow = gshadowInfo.exists;
    std::string shell = existsInRoot(root.fd(), "bin/bash") ? "/bin/bash" : "/bin/sh";
    long today = static_cast<long>(::time(nullptr) / 86400);
    ASSIGN_OR_RETURN(AccountChange ch, setPassword(f, up.user, hash, today, shell));
    // New files: root's (the VPS's), shadow readable by group shadow where there is one.
    auto deflt = [&](FileInfo& fi, mode_t mode) {
        if (!fi.exists) fi = {true, base, base, mode};
    };
    deflt(passwdInfo, 0644);
    deflt(groupInfo, 0644);
    if (!shadowInfo.exists) {
        auto shadowGid = groupId(f.group, "shadow");
        shadowInfo = {true, base, base, static_cast<mode_t>(shadowGid ? 0640 : 0600)};
        if (shadowGid) shadowInfo.gid = base + *shadowGid;
    }
    // Group first (passwd names its gid), shadow last (useradd's order).
    if (ch.groupChanged) TRY(replaceEtcFile(etc.get(), "group", f.group, groupInfo));
    if (ch.gshadowChanged) TRY(replaceEtcFile(etc.get(), "gshadow", f.gshadow, gshadowInfo));
    if (ch.passwdChanged) TRY(replaceEtcFile(etc.get(), "passwd", f.passwd, passwdInfo));
    TRY(makeHome(root.fd(), ch, up.user, base));
    return replaceEtcFile(etc.get(), "shadow", f.shadow, shadowInfo);
}

}  // namespace berth::vps
