#include "namespaces/mountinfo.hpp"

#include <algorithm>
#include <charconv>
#include <string_view>

#include "common/fs.hpp"

namespace berth::namespaces {
namespace {

bool isOctal(char c) {
    return c >= '0' && c <= '7';
}

// mountinfo escapes space, tab, newline and backslash as \ooo octal.
std::string unescape(std::string_view s) {
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

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }

// The whitespace-separated fields of a line, as views into it (a stream's >> would build an
// istringstream per line: ~13 k instructions a line, in every create's child).
std::vector<std::string_view> fieldsOf(std::string_view line) {
    std::vector<std::string_view> fields;
    fields.reserve(12);
    size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && isSpace(line[i])) i++;
        size_t start = i;
        while (i < line.size() && !isSpace(line[i])) i++;
        if (i > start) fields.push_back(line.substr(start, i - start));
    }
    return fields;
}

bool parseInt(std::string_view f, int& out) {
    auto r = std::from_chars(f.data(), f.data() + f.size(), out);
    return r.ec == std::errc();
}

Result<MountInfo> parseLine(std::string_view line) {
    auto fields = fieldsOf(line);
    // id parent major:minor root mountpoint options [optional...] - fstype source superopts
    size_t sep = 0;
    for (size_t i = 6; i < fields.size(); ++i)
        if (fields[i] == "-") {
            sep = i;
            break;
        }
    MountInfo m;
    if (sep == 0 || fields.size() < sep + 3 || !parseInt(fields[0], m.id) || !parseInt(fields[1], m.parentId))
        return Error(EINVAL, strCat("malformed mountinfo line: ", line));
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
    std::string_view rest = text;
    while (!rest.empty()) {
        size_t nl = rest.find('\n');
        std::string_view line = rest.substr(0, nl);
        rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
        if (std::all_of(line.begin(), line.end(), isSpace)) continue;
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
