#include "namespaces/mountinfo.hpp"

#include <sstream>

#include "common/fs.hpp"

namespace berth::namespaces {
namespace {

bool isOctal(char c) {
    return c >= '0' && c <= '7';
}

// mountinfo escapes space, tab, newline and backslash as \ooo octal.
std::string unescape(const std::string& s) {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 3 < s.size() && isOctal(s[i + 1]) && isOctal(s[i + 2]) &&
            isOctal(s[i + 3])) {
            int value = (s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0');
            out += static_cast<char>(value);
            i += 3;
        } else {
            out += s[i];
        }
    }
    return out;
}

Result<MountInfo> parseLine(const std::string& line) {
    std::istringstream in(line);
    std::vector<std::string> fields;
    for (std::string f; in >> f;) fields.push_back(f);
    // id parent major:minor root mountpoint options [optional...] - fstype source superopts
    size_t sep = 0;
    for (size_t i = 6; i < fields.size(); ++i)
        if (fields[i] == "-") {
            sep = i;
            break;
        }
    if (sep == 0 || fields.size() < sep + 3)
        return Error(EINVAL, strCat("malformed mountinfo line: ", line));
    MountInfo m;
    try {
        m.id = std::stoi(fields[0]);
        m.parentId = std::stoi(fields[1]);
    } catch (...) {
        return Error(EINVAL, strCat("malformed mountinfo line: ", line));
    }
    m.root = unescape(fields[3]);
    m.mountPoint = unescape(fields[4]);
    m.options = fields[5];
    m.optional.assign(fields.begin() + 6, fields.begin() + static_cast<long>(sep));
    m.fsType = unescape(fields[sep + 1]);
    m.source = unescape(fields[sep + 2]);
    if (fields.size() > sep + 3) m.superOptions = fields[sep + 3];
    return m;
}

}  // namespace

bool MountInfo::shared() const {
    for (const auto& o : optional)
        if (o.rfind("shared:", 0) == 0) return true;
    return false;
}

Result<std::vector<MountInfo>> parseMountInfo(const std::string& text) {
    std::vector<MountInfo> out;
    for (const auto& line : fs::split(text, '\n')) {
        if (fs::trim(line).empty()) continue;
        ASSIGN_OR_RETURN(auto m, parseLine(line));
        out.push_back(std::move(m));
    }
    return out;
}

Result<std::vector<MountInfo>> readMountInfo(const std::string& path) {
    ASSIGN_OR_RETURN(auto text, fs::readFile(path));
    return parseMountInfo(text);
}

bool isPathWithin(const std::string& path, const std::string& dir) {
    if (dir == "/") return !path.empty() && path[0] == '/';
    if (path.compare(0, dir.size(), dir) != 0) return false;
    return path.size() == dir.size() || path[dir.size()] == '/';
}

std::optional<MountInfo> mountContaining(const std::vector<MountInfo>& mounts,
                                         const std::string& path) {
    std::optional<MountInfo> best;
    for (const auto& m : mounts) {
        if (!isPathWithin(path, m.mountPoint)) continue;
        if (!best || m.mountPoint.size() >= best->mountPoint.size()) best = m;
    }
    return best;
}

}  // namespace berth::namespaces
