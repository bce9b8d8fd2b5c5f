// images/layer_path: the pure path rules of layer entries — cleaning tar names, refusing
// escapes (absolute, ..), and recognising OCI whiteouts and what they turn into on overlay.
#pragma once

#include <string>

#include "common/error.hpp"

namespace berth::images {

// "./a//b/" → "a/b"; "." → "" (the root itself). Absolute names and any ".." component are
// refused: a layer never needs them and tar would otherwise write outside the rootfs.
Result<std::string> cleanEntryPath(const std::string& raw);

enum class WhiteoutKind { None, File, Opaque, Meta };

struct Whiteout {
    WhiteoutKind kind = WhiteoutKind::None;
    std::string target;  // File: the path hidden; Opaque: the directory made opaque
};

// "a/.wh.b" → {File, "a/b"}; "a/.wh..wh..opq" → {Opaque, "a"}; other ".wh..wh." names → Meta
// (aufs bookkeeping, skipped). Takes a cleaned path.
Whiteout classifyWhiteout(const std::string& cleaned);

// Split a cleaned path into its parent ("" for top level) and last component.
std::pair<std::string, std::string> splitParent(const std::string& cleaned);

}  // namespace berth::images
