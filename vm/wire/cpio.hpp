// vm/wire/cpio: a writer for the "newc" cpio format the kernel unpacks as an initramfs — files,
// directories, symlinks and device nodes as data, so no root or mknod is needed to build one.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/error.hpp"

namespace berth::vm::wire::cpio {

class Writer {
public:
    // Entries are written in call order; a parent directory must come before its children.
    void addDirectory(const std::string& path, mode_t perm = 0755);
    void addFile(const std::string& path, const std::string& data, mode_t perm = 0644);
    void addSymlink(const std::string& path, const std::string& target);
    void addCharDevice(const std::string& path, uint32_t major, uint32_t minor, mode_t perm = 0600);
    // Everything under hostDir (regular files, dirs, symlinks; other types are skipped), placed
    // at prefix in the archive, with the host's modes and owners. A file with hard links is
    // stored once: its first name carries the data, the others (same inode number, size 0) are
    // links, as the kernel's unpacker makes them — an image's hundreds of busybox links would
    // otherwise each hold a copy of the binary.
    Status addTree(const std::string& hostDir, const std::string& prefix);
    // The archive with its TRAILER!!! entry; the writer can keep going after (a second call
    // returns the entries so far plus a trailer again).
    std::string finish() const;
    size_t entries() const { return entries_; }

private:
    void add(const std::string& path, uint32_t mode, const std::string& data, uint32_t uid = 0,
             uint32_t gid = 0, uint32_t rmajor = 0, uint32_t rminor = 0);
    // ino 0: a new inode number; nlink 0: 2 for a directory, else 1.
    void addEntry(const std::string& path, uint32_t mode, const std::string& data, uint32_t uid, uint32_t gid,
                  uint32_t rmajor, uint32_t rminor, uint32_t ino, uint32_t nlink);
    Status addRegularFromHost(const std::string& src, const std::string& dst, const struct stat& st);
    std::string out_;
    uint32_t ino_ = 1;
    size_t entries_ = 0;
    std::map<std::pair<dev_t, ino_t>, uint32_t> hardLinks_;  // host inode → archive inode
};

// One header's fields as the kernel reads them (for tests and for reading archives back).
struct Entry {
    std::string name;
    uint32_t ino = 0, mode = 0, uid = 0, gid = 0, nlink = 0, rmajor = 0, rminor = 0;
    std::string data;
};
// Parse a newc archive up to its trailer; refuses bad magic, bad hex and truncation.
Result<std::vector<Entry>> parse(const std::string& archive);

}  // namespace berth::vm::wire::cpio
