// common/json: the one way berth turns text into JSON. nlohmann's parser sits behind a cap on
// nesting depth, so a hostile document is one error line instead of a stack overflow later.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <optional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace berth {

// Real documents nest a handful of levels (config.json ~6, an image config ~4, a seccomp profile
// ~5). nlohmann's parser is iterative, but copying, dumping, comparing and destroying a value, and
// our own readers, recurse once per level: 512 keeps the deepest walk at a few hundred KB of stack
// at most (fine for the main thread and for a cloned child), while no real document comes close.
// Go's encoding/json (runc) allows 10000; nobody writes a 513-level config by hand.
inline constexpr size_t kMaxJsonDepth = 512;

// How deep arrays and objects nest in `text`, counting only brackets outside strings (escapes
// included); the scan stops once it passes `limit`, so the answer is at most limit + 1.
size_t jsonNestingDepth(std::string_view text, size_t limit = kMaxJsonDepth);

// nlohmann's "[json.exception.parse_error.101] parse error at line 3, column 5: ..." as one
// short line: "<reason> (line 3, column 5)".
std::string shortJsonError(const std::string& raw);

// A document berth writes around one it accepted (state.json holds the config one level down)
// gets this much more, so whatever was accepted stays loadable.
inline constexpr size_t kJsonWrapperDepth = 8;

// The only place berth calls nlohmann's parser (tests/unit/common/json_test.cpp checks the tree).
// Errors name `what`: "config.json: JSON nested deeper than 512 levels",
// "config.json: invalid JSON: <reason> (line 1, column 2)".
Result<nlohmann::json> parseJson(std::string_view text, std::string_view what,
                                 size_t maxDepth = kMaxJsonDepth);
// parseJson, except that the top-level member `skipKey` is left out of the result and its value
// is only checked for depth, matching brackets and closed strings (not token by token): nothing
// is built for it. For state.json, whose "config" (the whole config.json) is most of the text and
// which `state` and `list` do not need; loads that use the config parse it all.
Result<nlohmann::json> parseJsonSkipping(std::string_view text, std::string_view what,
                                         std::string_view skipKey, size_t maxDepth = kMaxJsonDepth);
// parseJson, except that the object or array values of the top-level members `keys` (spelt
// without escapes) come back empty ({} or []): they are cut out by matching brackets outside
// strings (~10 instructions a byte instead of nlohmann's ~150 with the tree it builds), so inside
// them only the brackets and strings are checked. A member with a scalar value is parsed as is.
// `state` and `list` read state.json this way without its cgroup paths (bench/README.md).
Result<nlohmann::json> parseJsonEmptying(std::string_view text, std::string_view what,
                                         std::initializer_list<std::string_view> keys,
                                         size_t maxDepth = kMaxJsonDepth);
// The length of the valid UTF-8 sequence starting at s[i] (a byte >= 0x80), or 0 when it is not
// one: no overlong forms, no surrogates, nothing past U+10FFFF (what nlohmann accepts).
size_t utf8SequenceLength(std::string_view s, size_t i);

// The tree nlohmann's parser would build from `text`, when this quick reader is sure of it: a
// valid document of objects, arrays, strings, integers, booleans and null, nested at most
// maxDepth levels. nullopt otherwise (invalid, a float, a BOM...): parse it with nlohmann then.
// parseJson and parseJsonEmptying try it first (common/json_fast.cpp).
std::optional<nlohmann::json> parseJsonFast(std::string_view text, size_t maxDepth = kMaxJsonDepth);

// Appends `s` as a JSON string, exactly as nlohmann's dump() writes it (ensure_ascii off): '"',
// '\\', \b \f \n \r \t escaped, other control characters as \u00xx (lower-case hex), the rest
// byte for byte. Text that is not valid UTF-8 (where dump() throws) appends nothing and returns
// the offset of the first bad byte. For records written on every lifecycle step (state.json):
// building an nlohmann tree only to dump it costs ~10x more (bench/README.md, fourth pass).
std::optional<size_t> appendJsonString(std::string& out, std::string_view s);

Result<nlohmann::ordered_json> parseOrderedJson(std::string_view text, std::string_view what,
                                                size_t maxDepth = kMaxJsonDepth);

}  // namespace berth
