#include "images/layer_path.hpp"

#include <vector>

namespace berth::images {

Result<std::string> cleanEntryPath(const std::string& raw) {
    if (raw.empty()) return Error::make("empty name");
    if (raw.front() == '/') return Error::make("absolute path");
    std::string out;
    size_t i = 0;
    while (i <= raw.size()) {
        size_t j = raw.find('/', i);
        if (j == std::string::npos) j = raw.size();
        std::string comp = raw.substr(i, j - i);
        i = j + 1;
        if (comp.empty() || comp == ".") continue;
        if (comp == "..") return Error::make("path contains \"..\"");
        if (!out.empty()) out += '/';
        out += comp;
    }
    return out;
}

std::pair<std::string, std::string> splitParent(const std::string& cleaned) {
    auto slash = cleaned.rfind('/');
    if (slash == std::string::npos) return {"", cleaned};
    return {cleaned.substr(0, slash), cleaned.substr(slash + 1)};
}

Whiteout classifyWhiteout(const std::string& cleaned) {
    static const std::string kPrefix = ".wh.", kMeta = ".wh..wh.", kOpaque = ".wh..wh..opq";
    auto [parent, base] = splitParent(cleaned);
    if (base.rfind(kPrefix, 0) != 0) return {};
    if (base == kOpaque) return {WhiteoutKind::Opaque, parent};
    if (base.rfind(kMeta, 0) == 0) return {WhiteoutKind::Meta, ""};
    std::string name = base.substr(kPrefix.size());
    if (name.empty()) return {WhiteoutKind::Meta, ""};
    return {WhiteoutKind::File, parent.empty() ? name : parent + "/" + name};
}

}  // namespace berth::images
