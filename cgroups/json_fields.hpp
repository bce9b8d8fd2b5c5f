// cgroups/json_fields: typed reads of linux.resources members, each failure naming its JSON
// path. Internal to cgroups/ (the v1 and v2 translations share them).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace berth::cgroups::fields {

// The member `key` of `obj` as an int64 if present and not null; path names `obj`.
inline Result<std::optional<int64_t>> optInt(const nlohmann::json& obj, const char* key,
                                             const std::string& path) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return std::optional<int64_t>{};
    if (!it->is_number_integer() && !it->is_number_unsigned())
        return Error::make(path, ".", key, ": must be an integer");
    if (it->is_number_unsigned() && it->get<uint64_t>() > uint64_t(INT64_MAX))
        return Error::make(path, ".", key, ": out of range");
    return std::optional<int64_t>(it->get<int64_t>());
}

inline Result<std::optional<std::string>> optString(const nlohmann::json& obj, const char* key,
                                                    const std::string& path) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return std::optional<std::string>{};
    if (!it->is_string()) return Error::make(path, ".", key, ": must be a string");
    return std::optional<std::string>(it->get<std::string>());
}

inline Result<std::optional<bool>> optBool(const nlohmann::json& obj, const char* key,
                                           const std::string& path) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return std::optional<bool>{};
    if (!it->is_boolean()) return Error::make(path, ".", key, ": must be a boolean");
    return std::optional<bool>(it->get<bool>());
}

inline Status requireObject(const nlohmann::json& v, const std::string& path) {
    if (!v.is_object()) return Error::make(path, ": must be an object");
    return {};
}

inline Status requireArray(const nlohmann::json& v, const std::string& path) {
    if (!v.is_array()) return Error::make(path, ": must be an array");
    return {};
}

}  // namespace berth::cgroups::fields
