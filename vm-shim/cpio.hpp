// vm-shim/cpio: a writer for the "newc" cpio format the kernel unpacks as an initramfs — files,
// directories, symlinks and device nodes as data, so no root or mknod is needed to build one.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace berth::vm::cpio {

class Writer {
public:
    // Entries are written in call order; a parent directory must come before its children.
    void addDirectory(const std::string& path, mode_t perm = 0755);
    void addFile(const std::string& path, const std::string& data, mode_t perm = 0644);
    void addSymlink(const std::string& path, const std::string& target);
    void addCharDevice(const std::string& path, uint32_t major, uint32_t minor, mode_t perm = 0600);
    // Everything under hostDir (regular files, dirs, symlinks; other types are skipped), placed
    // at prefix in the archive, with the host's modes and owners.
    Status addTree(const std::string& hostDir, const std::string& prefix);
    // The archive with its TRAILER!!! entry; the writer can keep going after (a second call
    // returns the entries so far plus a trailer again).
    std::string finish() const;
    size_t entries() const { return ino_ - 1; }

private:
    void add(const std::string& path, uint32_t mode, const std::string& data, uint32_t uid = 0,
             uint32_t gid = 0, uint32_t rmajor = 0, uint32_t rminor = 0);
    std::string out_;
    uint32_t ino_ = 1;
};

// One header's fields as the kernel reads them (for tests and for reading archives back).
struct Entry {
    std::string name;
    uint32_t mode = 0, uid = 0, gid = 0, nlink = 0, rmajor = 0, rminor = 0;
    std::string data;
};
// Parse a newc archive up to its trailer; refuses bad magic, bad hex and truncation.
Result<std::vector<Entry>> parse(const std::string& archive);

}  // namespace berth::vm::cpio
