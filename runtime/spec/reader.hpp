// runtime/spec/reader: typed reads from a parsed JSON document where every refusal names the
// JSON path ("config.json: linux.devices[1].major: ..."). Internal to runtime/spec.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/error.hpp"

namespace berth::runtime::spec::detail {

using nlohmann::json;

// What every reader needs: the source name that starts each message and where warnings go.
struct Ctx {
    std::string what;
    std::vector<std::string>* warnings = nullptr;
};

// "a" + "b" -> "a.b"; at the document root the key alone.
std::string at(const std::string& path, std::string_view key);
// "a" + 3 -> "a[3]".
std::string at(const std::string& path, size_t index);
// Map keys may contain dots (sysctl names), so they are quoted: a["net.ipv4.ip_forward"].
std::string atKey(const std::string& path, const std::string& key);

// A short description of a JSON value for "got ..." in messages.
std::string describe(const json& v);

template <typename... Args>
Error fail(const Ctx& c, const std::string& path, Args&&... args) {
    if (path.empty()) return Error::make(c.what, ": ", std::forward<Args>(args)...);
    return Error::make(c.what, ": ", path, ": ", std::forward<Args>(args)...);
}

template <typename... Args>
void warn(const Ctx& c, const std::string& path, Args&&... args) {
    if (c.warnings)
        c.warnings->push_back(strCat(c.what, ": ", path, ": ", std::forward<Args>(args)...));
}

// The member `key` of object `obj`, or nullptr when absent or JSON null: Go's decoder (and so
// runc) treats an explicit null like a missing field.
const json* find(const json& obj, std::string_view key);

Status expectObject(const Ctx& c, const json& v, const std::string& path);
Status expectArray(const Ctx& c, const json& v, const std::string& path);

// Value readers: `path` is the path of v itself.
Status asString(const Ctx& c, const json& v, const std::string& path, std::string& out);
Status asBool(const Ctx& c, const json& v, const std::string& path, bool& out);
Status asStringArray(const Ctx& c, const json& v, const std::string& path,
                     std::vector<std::string>& out);
Status asStringMap(const Ctx& c, const json& v, const std::string& path,
                   std::map<std::string, std::string>& out);

// "an unsigned 32-bit integer" etc., for messages.
template <typename T>
const char* intKind() {
    if constexpr (std::is_same_v<T, uint64_t>) return "an unsigned 64-bit integer";
    if constexpr (std::is_same_v<T, uint32_t>) return "an unsigned 32-bit integer";
    if constexpr (std::is_same_v<T, unsigned>) return "an unsigned 32-bit integer";
    if constexpr (std::is_same_v<T, int64_t>) return "a 64-bit integer";
    return "a 32-bit integer";
}

// Integers must be JSON integers in T's range (Go refuses 1.5 and -1 for uint32 alike).
template <typename T>
Status asInt(const Ctx& c, const json& v, const std::string& path, T& out) {
    bool fits = false;
    if (v.is_number_unsigned()) {
        auto u = v.get<uint64_t>();
        fits = std::in_range<T>(u);
        if (fits) out = static_cast<T>(u);
    } else if (v.is_number_integer()) {
        auto s = v.get<int64_t>();
        fits = std::in_range<T>(s);
        if (fits) out = static_cast<T>(s);
    }
    if (!fits) return fail(c, path, "must be ", intKind<T>(), ", got ", describe(v));
    return {};
}

// Field readers: an absent (or null) optional field leaves `out` untouched.
Status readString(const Ctx& c, const json& obj, std::string_view key, const std::string& path,
                  std::string& out);
Status readBool(const Ctx& c, const json& obj, std::string_view key, const std::string& path,
                bool& out);
Status readStringArray(const Ctx& c, const json& obj, std::string_view key, const std::string& path,
                       std::vector<std::string>& out);
Status readStringMap(const Ctx& c, const json& obj, std::string_view key, const std::string& path,
                     std::map<std::string, std::string>& out);
// A required string that must not be empty.
Status requireString(const Ctx& c, const json& obj, std::string_view key, const std::string& path,
                     std::string& out);

template <typename T>
Status readInt(const Ctx& c, const json& obj, std::string_view key, const std::string& path,
               T& out) {
    if (const json* v = find(obj, key)) return asInt(c, *v, at(path, key), out);
    return {};
}

template <typename T>
Status readInt(const Ctx& c, const json& obj, std::string_view key, const std::string& path,
               std::optional<T>& out) {
    if (const json* v = find(obj, key)) {
        T value{};
        TRY(asInt(c, *v, at(path, key), value));
        out = value;
    }
    return {};
}

template <typename T>
Status requireInt(const Ctx& c, const json& obj, std::string_view key, const std::string& path,
                  T& out) {
    const json* v = find(obj, key);
    if (!v) return fail(c, at(path, key), "is required");
    return asInt(c, *v, at(path, key), out);
}

bool isAbsolute(const std::string& p);

}  // namespace berth::runtime::spec::detail
