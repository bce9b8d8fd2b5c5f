#include "vm/wire/cpio.hpp"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <vector>

#include "common/fs.hpp"

namespace berth::vm::wire::cpio {
namespace {

constexpr const char* kMagic = "070701";

void hex8(std::string& out, uint32_t v) {
    char buf[9];
    std::snprintf(buf, sizeof buf, "%08X", v);
    out.append(buf, 8);
}

void pad4(std::string& out) {
    while (out.size() % 4) out.push_back('\0');
}

std::string archiveName(const std::string& path) {
    // The kernel wants names relative to the root, without a leading "/".
    size_t i = 0;
    while (i < path.size() && path[i] == '/') i++;
    return path.substr(i);
}

}  // namespace

void Writer::add(const std::string& path, uint32_t mode, const std::string& data, uint32_t uid,
                 uint32_t gid, uint32_t rmajor, uint32_t rminor) {
    addEntry(path, mode, data, uid, gid, rmajor, rminor, 0, 0);
}

void Writer::addEntry(const std::string& path, uint32_t mode, const std::string& data, uint32_t uid, uint32_t gid,
                      uint32_t rmajor, uint32_t rminor, uint32_t ino, uint32_t nlink) {
    std::string name = archiveName(path);
    bool trailer = name == "TRAILER!!!";
    if (!trailer) entries_++;
    out_ += kMagic;
    hex8(out_, trailer ? 0 : ino ? ino : ino_++);
    hex8(out_, mode);
    hex8(out_, uid);
    hex8(out_, gid);
    hex8(out_, nlink ? nlink : S_ISDIR(mode) ? 2 : 1);
    hex8(out_, 0);                      // mtime: 0 keeps the archive reproducible (cache keys)
    hex8(out_, static_cast<uint32_t>(data.size()));
    hex8(out_, 0);  // devmajor
    hex8(out_, 0);  // devminor
    hex8(out_, rmajor);
    hex8(out_, rminor);
    hex8(out_, static_cast<uint32_t>(name.size() + 1));
    hex8(out_, 0);  // check
    out_ += name;
    out_.push_back('\0');
    pad4(out_);
    out_ += data;
    pad4(out_);
}

void Writer::addDirectory(const std::string& path, mode_t perm) { add(path, S_IFDIR | (perm & 07777), ""); }

void Writer::addFile(const std::string& path, const std::string& data, mode_t perm) {
    add(path, S_IFREG | (perm & 07777), data);
}

void Writer::addSymlink(const std::string& path, const std::string& target) {
    add(path, S_IFLNK | 0777, target);
}

void Writer::addCharDevice(const std::string& path, uint32_t major, uint32_t minor, mode_t perm) {
    add(path, S_IFCHR | (perm & 07777), "", 0, 0, major, minor);
}

Status Writer::addTree(const std::string& hostDir, const std::string& prefix) {
    ASSIGN_OR_RETURN(auto names, fs::listDir(hostDir));
    std::sort(names.begin(), names.end());  // reproducible archives
    for (auto& n : names) {
        std::string src = hostDir + "/" + n, dst = prefix + "/" + n;
        struct stat st;
        if (::lstat(src.c_str(), &st) < 0) return Error::fromErrno("lstat ", src);
        auto mode = static_cast<uint32_t>(st.st_mode);
        if (S_ISDIR(st.st_mode)) {
            add(dst, mode, "", st.st_uid, st.st_gid);
            TRY(addTree(src, dst));
        } else if (S_ISREG(st.st_mode)) {
            TRY(addRegularFromHost(src, dst, st));
        } else if (S_ISLNK(st.st_mode)) {
            std::vector<char> buf(static_cast<size_t>(st.st_size) + 1);
            ssize_t n2 = ::readlink(src.c_str(), buf.data(), buf.size());
            if (n2 < 0) return Error::fromErrno("readlink ", src);
            add(dst, mode, std::string(buf.data(), static_cast<size_t>(n2)), st.st_uid, st.st_gid);
        }
    }
    return {};
}

Status Writer::addRegularFromHost(const std::string& src, const std::string& dst, const struct stat& st) {
    auto mode = static_cast<uint32_t>(st.st_mode);
    if (st.st_nlink < 2) {
        ASSIGN_OR_RETURN(std::string data, fs::readFile(src));
        add(dst, mode, data, st.st_uid, st.st_gid);
        return {};
    }
    auto nlink = static_cast<uint32_t>(st.st_nlink);
    auto [it, first] = hardLinks_.try_emplace({st.st_dev, st.st_ino}, ino_);
    if (!first) {
        addEntry(dst, mode, "", st.st_uid, st.st_gid, 0, 0, it->second, nlink);
        return {};
    }
    ASSIGN_OR_RETURN(std::string data, fs::readFile(src));
    addEntry(dst, mode, data, st.st_uid, st.st_gid, 0, 0, ino_++, nlink);
    return {};
}

std::string Writer::finish() const {
    Writer t;
    t.out_ = out_;
    t.add("TRAILER!!!", 0, "");
    return std::move(t.out_);
}

Result<std::vector<Entry>> parse(const std::string& a) {
    std::vector<Entry> out;
    size_t off = 0;
    auto field = [&](size_t i) -> Result<uint32_t> {
        std::string h = a.substr(off + 6 + 8 * i, 8);
        if (h.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
            return Error(EINVAL, strCat("cpio: bad hex field at offset ", off + 6 + 8 * i));
        return static_cast<uint32_t>(std::stoul(h, nullptr, 16));
    };
    for (;;) {
        if (off + 110 > a.size()) return Error(EINVAL, strCat("cpio: truncated header at offset ", off));
        if (a.compare(off, 6, kMagic) != 0) return Error(EINVAL, strCat("cpio: bad magic at offset ", off));
        Entry e;
        ASSIGN_OR_RETURN(e.ino, field(0));
        ASSIGN_OR_RETURN(e.mode, field(1));
        ASSIGN_OR_RETURN(e.uid, field(2));
        ASSIGN_OR_RETURN(e.gid, field(3));
        ASSIGN_OR_RETURN(e.nlink, field(4));
        ASSIGN_OR_RETURN(uint32_t size, field(6));
        ASSIGN_OR_RETURN(e.rmajor, field(9));
        ASSIGN_OR_RETURN(e.rminor, field(10));
        ASSIGN_OR_RETURN(uint32_t nameSize, field(11));
        size_t nameOff = off + 110;
        if (nameSize == 0 || nameOff + nameSize > a.size())
            return Error(EINVAL, strCat("cpio: truncated name at offset ", nameOff));
        e.name = a.substr(nameOff, nameSize - 1);
        size_t dataOff = (nameOff + nameSize + 3) & ~size_t(3);
        if (dataOff + size > a.size()) return Error(EINVAL, strCat("cpio: truncated data of ", e.name));
        e.data = a.substr(dataOff, size);
        off = (dataOff + size + 3) & ~size_t(3);
        if (e.name == "TRAILER!!!") return out;
        out.push_back(std::move(e));
    }
}

}  // namespace berth::vm::wire::cpio
