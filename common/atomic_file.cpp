#include "common/atomic_file.hpp"

#include <sys/stat.h>

#include "common/fs.hpp"

namespace berth::fs {

Status writeFileAtomicIfChanged(const std::string& path, const std::string& data, mode_t mode) {
    struct stat st;
    if (::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 07777) == mode &&
        static_cast<size_t>(st.st_size) == data.size()) {
        auto now = readFile(path);
        if (now && *now == data) return {};
    }
    return writeFileAtomic(path, data, mode);
}

}  // namespace berth::fs
