#include "common/fs.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string_view>

#include "common/unique_fd.hpp"

namespace berth::fs {

std::string readUntilEof(int fd) {
    std::string out;
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return out;
        out.append(buf, static_cast<size_t>(n));
    }
}

Result<std::string> readFile(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return Error::fromErrno("open ", path);
    std::string out;
    char buf[8192];
    for (;;) {
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            return Error::fromErrno("read ", path);
        }
        if (n == 0) break;
        out.append(buf, static_cast<size_t>(n));
    }
    return out;
}

Status writeAll(int fd, const std::string& data, const std::string& path) {
    size_t off = 0;
    while (off < data.size()) {
        ssize_t n = ::write(fd, data.data() + off, data.size() - off);
        if (n < 0) {
            if (errno == EINTR) continue;
            return Error::fromErrno("write ", path);
        }
        off += static_cast<size_t>(n);
    }
    return {};
}

Status writeFileAtomic(const std::string& path, const std::string& data, mode_t mode) {
    std::string tmp = path + ".tmp";
    {
        UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
        if (!fd) return Error::fromErrno("open ", tmp);
        TRY(writeAll(fd.get(), data, tmp));
        if (::fsync(fd.get()) < 0) return Error::fromErrno("fsync ", tmp);
    }
    if (::rename(tmp.c_str(), path.c_str()) < 0) {
        Error e = Error::fromErrno("rename ", tmp, " to ", path);
        ::unlink(tmp.c_str());
        return e;
    }
    // No fsync of the directory: rename already makes the replacement atomic for any reader or
    // crash of ours, and the runtime's state (on /run) does not outlive a reboot anyway.
    return {};
}

Status writeFile(const std::string& path, const std::string& data) {
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
    if (!fd) return Error::fromErrno("open ", path);
    return writeAll(fd.get(), data, path);
}

Status writeFileOnFs(const std::string& path, const std::string& data, long fsMagic, const char* fsName) {
    // No O_TRUNC: nothing may change before the check (kernel knob files need no truncation).
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd) return Error::fromErrno("open ", path);
    struct statfs sfs;
    if (::fstatfs(fd.get(), &sfs) < 0) return Error::fromErrno("statfs ", path);
    if (sfs.f_type != fsMagic)
        return Error(EXDEV, strCat(path, " is not on ", fsName, " (something is mounted over it); refusing to write"));
    return writeAll(fd.get(), data, path);
}

Status mkdirAll(const std::string& path, mode_t mode) {
    if (path.empty()) return {};
    std::string cur;
    for (const auto& part : split(path, '/')) {
        if (part.empty()) {
            if (cur.empty()) cur = "/";
            continue;
        }
        if (!cur.empty() && cur.back() != '/') cur += '/';
        cur += part;
        if (::mkdir(cur.c_str(), mode) < 0 && errno != EEXIST)
            return Error::fromErrno("mkdir ", cur);
    }
    return {};
}

static Status removeAllAt(int dirfd, const std::string& name, const std::string& shown, dev_t dev) {
    struct stat st;
    if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno == ENOENT) return {};
        return Error::fromErrno("stat ", shown);
    }
    if (S_ISDIR(st.st_mode)) {
        if (st.st_dev != dev) return Error(EBUSY, strCat("refusing to remove mount point ", shown));
        UniqueFd fd(::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!fd) return Error::fromErrno("open ", shown);
        DIR* d = ::fdopendir(::dup(fd.get()));
        if (!d) return Error::fromErrno("opendir ", shown);
        std::vector<std::string> names;
        while (auto* ent = ::readdir(d)) {
            if (!std::strcmp(ent->d_name, ".") || !std::strcmp(ent->d_name, "..")) continue;
            names.emplace_back(ent->d_name);
        }
        ::closedir(d);
        for (const auto& n : names) TRY(removeAllAt(fd.get(), n, shown + "/" + n, dev));
        if (::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) < 0 && errno != ENOENT)
            return Error::fromErrno("rmdir ", shown);
        return {};
    }
    if (::unlinkat(dirfd, name.c_str(), 0) < 0 && errno != ENOENT)
        return Error::fromErrno("unlink ", shown);
    return {};
}

Status removeAll(const std::string& path) {
    struct stat st;
    if (::lstat(path.c_str(), &st) < 0) {
        if (errno == ENOENT) return {};
        return Error::fromErrno("stat ", path);
    }
    return removeAllAt(AT_FDCWD, path, path, st.st_dev);
}

bool exists(const std::string& path) {
    struct stat st;
    return ::lstat(path.c_str(), &st) == 0;
}

Result<std::vector<std::string>> listDir(const std::string& path) {
    DIR* d = ::opendir(path.c_str());
    if (!d) return Error::fromErrno("open directory ", path);
    std::vector<std::string> out;
    while (struct dirent* e = ::readdir(d)) {
        std::string name = e->d_name;
        if (name != "." && name != "..") out.push_back(name);
    }
    ::closedir(d);
    return out;
}

std::string joinPath(const std::string& a, const std::string& b) {
    if (a.empty()) return b;
    if (b.empty()) return a;
    if (a.back() == '/' && b.front() == '/') return a + b.substr(1);
    if (a.back() == '/' || b.front() == '/') return a + b;
    return a + "/" + b;
}

std::string cleanPath(const std::string& path) {
    // One pass over views of the components (no vector of strings: the rootfs set-up cleans
    // a few hundred paths per create).
    std::string out;
    out.reserve(path.size() + 1);
    for (size_t i = 0; i <= path.size();) {
        size_t j = path.find('/', i);
        if (j == std::string::npos) j = path.size();
        std::string_view part(path.data() + i, j - i);
        if (part == "..") {
            out.resize(out.empty() ? 0 : out.rfind('/'));
        } else if (!part.empty() && part != ".") {
            out += '/';
            out += part;
        }
        i = j + 1;
    }
    return out.empty() ? "/" : out;
}

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    out.reserve(static_cast<size_t>(std::count(s.begin(), s.end(), sep)) + 1);
    size_t start = 0;
    for (;;) {
        size_t pos = s.find(sep, start);
        if (pos == std::string::npos) {
            out.push_back(s.substr(start));
            break;
        }
        out.push_back(s.substr(start, pos - start));
        start = pos + 1;
    }
    return out;
}

std::string trim(const std::string& s) {
    size_t b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return "";
    size_t e = s.find_last_not_of(" \t\r\n");
    return s.substr(b, e - b + 1);
}

}  // namespace berth::fs
