// common/json: parseJson — the nesting cap in front of nlohmann's parser.
#include "common/json.hpp"

#include <algorithm>
#include <cctype>
#include <optional>
#include <utility>
#include <vector>

namespace berth {

size_t jsonNestingDepth(std::string_view text, size_t limit) {
    size_t depth = 0, deepest = 0;
    bool inString = false;
    for (size_t i = 0; i < text.size(); i++) {
        char c = text[i];
        if (inString) {
            if (c == '\\')
                i++;  // the escaped character, whatever it is, cannot end the string
            else if (c == '"')
                inString = false;
            continue;
        }
        if (c == '"') {
            inString = true;
        } else if (c == '[' || c == '{') {
            if (++depth > deepest) deepest = depth;
            if (deepest > limit) break;
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
    }
    return deepest;
}

std::string shortJsonError(const std::string& raw) {
    std::string msg = raw;
    if (size_t tag = msg.find("] "); msg.starts_with("[json.exception") && tag != std::string::npos)
        msg.erase(0, tag + 2);
    std::string where;
    if (msg.starts_with("parse error at ")) {
        size_t colon = msg.find(": ");
        if (colon != std::string::npos) {
            where = msg.substr(15, colon - 15);
            msg.erase(0, colon + 2);
        }
    }
    if (size_t last = msg.find("; last read: "); last != std::string::npos) {
        size_t expected = msg.find("; expected ", last);
        msg = msg.substr(0, last) + (expected == std::string::npos ? "" : msg.substr(expected));
    }
    for (char& ch : msg)
        if (std::iscntrl(static_cast<unsigned char>(ch))) ch = ' ';
    return where.empty() ? msg : strCat(msg, " (", where, ")");
}

namespace {

template <typename Json, typename... Callback>
Result<Json> parseCapped(std::string_view text, std::string_view what, size_t maxDepth, bool depthChecked,
                         Callback... cb) {
    if (!depthChecked && jsonNestingDepth(text, maxDepth) > maxDepth)
        return Error(EINVAL, strCat(what, ": JSON nested deeper than ", maxDepth, " levels"))
            .hideErrno();
    try {
        return Json::parse(text.begin(), text.end(), cb...);
    } catch (const nlohmann::json::exception& e) {
        return Error(EINVAL, strCat(what, ": invalid JSON: ", shortJsonError(e.what())))
            .hideErrno();
    }
}

}  // namespace

Result<nlohmann::json> parseJson(std::string_view text, std::string_view what, size_t maxDepth) {
    // The quick reader's nesting cap is the same as the scan's: a document it refuses for depth
    // gets the scan's error below.
    if (auto fast = parseJsonFast(text, maxDepth)) return std::move(*fast);
    return parseCapped<nlohmann::json>(text, what, maxDepth, false);
}

namespace {

// i at an opening '"': returns the index of the closing one, or text.size() when there is none.
size_t stringEnd(std::string_view text, size_t i) {
    for (i++; i < text.size() && text[i] != '"'; i++)
        if (text[i] == '\\') i++;
    return std::min(i, text.size());
}

size_t skipSpace(std::string_view text, size_t i) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\n' || text[i] == '\t' || text[i] == '\r')) i++;
    return i;
}

// i at an opening bracket: one past its closing one, or npos when it has none.
size_t valueEnd(std::string_view text, size_t i) {
    size_t d = 0;
    for (; i < text.size(); i++) {
        if (text[i] == '"') {
            i = stringEnd(text, i);
        } else if (text[i] == '{' || text[i] == '[') {
            d++;
        } else if ((text[i] == '}' || text[i] == ']') && --d == 0) {
            return i + 1;
        }
    }
    return std::string_view::npos;
}

// The spans of the object/array values of the top-level members `keys`, in text order, in one
// pass; stops (with what it has) at anything malformed: the full parse then says what is wrong.
std::vector<std::pair<size_t, size_t>> memberValueSpans(std::string_view text,
                                                        std::initializer_list<std::string_view> keys) {
    std::vector<std::pair<size_t, size_t>> spans;
    size_t depth = 0;
    for (size_t i = 0; i < text.size(); i++) {
        char c = text[i];
        if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (depth-- == 0) return spans;
        } else if (c == '"') {
            size_t end = stringEnd(text, i);
            if (end == text.size()) return spans;
            std::string_view name = text.substr(i + 1, end - i - 1);
            i = end;
            if (depth != 1 || std::find(keys.begin(), keys.end(), name) == keys.end()) continue;
            size_t v = skipSpace(text, end + 1);
            if (v == text.size() || text[v] != ':') continue;  // a string value, not a key
            v = skipSpace(text, v + 1);
            if (v == text.size() || (text[v] != '{' && text[v] != '[')) continue;
            size_t e = valueEnd(text, v);
            if (e == std::string_view::npos) return spans;
            spans.emplace_back(v, e);
            i = e - 1;
        }
    }
    return spans;
}

// Where the object or array value of the top-level member `key` (spelt without escapes) starts
// and ends (one past its closing bracket); nullopt when there is none or its brackets do not
// match (the full parse then says what is wrong).
std::optional<std::pair<size_t, size_t>> memberValueSpan(std::string_view text, std::string_view key) {
    auto spans = memberValueSpans(text, {key});
    if (spans.empty()) return std::nullopt;
    return spans.front();
}

}  // namespace

Result<nlohmann::json> parseJsonSkipping(std::string_view text, std::string_view what,
                                         std::string_view skipKey, size_t maxDepth) {
    if (jsonNestingDepth(text, maxDepth) > maxDepth)
        return Error(EINVAL, strCat(what, ": JSON nested deeper than ", maxDepth, " levels"))
            .hideErrno();
    // nlohmann's lexer costs ~80 instructions a byte, and the skipped member is most of a
    // state.json: an object or array value is cut out by matching its brackets (~10 a byte) and
    // parsed as null. Inside it only the brackets and strings are checked then, not the tokens.
    std::string shortened;
    if (auto span = memberValueSpan(text, skipKey)) {
        shortened.reserve(text.size() - (span->second - span->first) + 4);
        shortened.append(text.substr(0, span->first)).append("null").append(text.substr(span->second));
        text = shortened;
    }
    // The member itself (or one the scan did not cut: a scalar, an escaped key) is dropped by the
    // callback; refusing every event below it builds nothing for it.
    bool skipping = false;
    auto keep = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
        if (depth == 1 && event == nlohmann::json::parse_event_t::key) {
            skipping = parsed.is_string() && parsed.get_ref<const std::string&>() == skipKey;
            return !skipping;
        }
        return !skipping || event == nlohmann::json::parse_event_t::object_end;
    };
    // The depth of the whole text was checked above: the shortened one is not scanned again.
    return parseCapped<nlohmann::json>(text, what, maxDepth, true, nlohmann::json::parser_callback_t(keep));
}

Result<nlohmann::json> parseJsonEmptying(std::string_view text, std::string_view what,
                                         std::initializer_list<std::string_view> keys, size_t maxDepth) {
    if (jsonNestingDepth(text, maxDepth) > maxDepth)
        return Error(EINVAL, strCat(what, ": JSON nested deeper than ", maxDepth, " levels"))
            .hideErrno();
    auto spans = memberValueSpans(text, keys);
    std::string shortened;
    if (!spans.empty()) {
        shortened.reserve(text.size());
        size_t from = 0;
        for (auto [b, e] : spans) {
            shortened.append(text.substr(from, b - from)).append(text[b] == '{' ? "{}" : "[]");
            from = e;
        }
        shortened.append(text.substr(from));
        text = shortened;
    }
    if (auto fast = parseJsonFast(text, maxDepth)) return std::move(*fast);
    return parseCapped<nlohmann::json>(text, what, maxDepth, true);
}

size_t utf8SequenceLength(std::string_view s, size_t i) {
    auto byte = [&](size_t k) { return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0u; };
    auto cont = [&](size_t k, unsigned lo = 0x80, unsigned hi = 0xBF) {
        unsigned b = byte(k);
        return b >= lo && b <= hi;
    };
    unsigned b0 = byte(0);
    if (b0 >= 0xC2 && b0 <= 0xDF) return cont(1) ? 2 : 0;
    if (b0 >= 0xE0 && b0 <= 0xEF) {
        unsigned lo = b0 == 0xE0 ? 0xA0 : 0x80, hi = b0 == 0xED ? 0x9F : 0xBF;
        return cont(1, lo, hi) && cont(2) ? 3 : 0;
    }
    if (b0 >= 0xF0 && b0 <= 0xF4) {
        unsigned lo = b0 == 0xF0 ? 0x90 : 0x80, hi = b0 == 0xF4 ? 0x8F : 0xBF;
        return cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 0;
    }
    return 0;
}

std::optional<size_t> appendJsonString(std::string& out, std::string_view s) {
    static constexpr char kHex[] = "0123456789abcdef";
    size_t mark = out.size();
    out.reserve(out.size() + s.size() + 2);
    out += '"';
    size_t plain = 0;  // start of the run of bytes copied as they are
    auto flush = [&](size_t i) { out.append(s.data() + plain, i - plain); };
    for (size_t i = 0; i < s.size();) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x80) {
            size_t n = utf8SequenceLength(s, i);
            if (n == 0) {
                out.resize(mark);
                return i;
            }
            i += n;
            continue;
        }
        if (c >= 0x20 && c != '"' && c != '\\') {
            i++;
            continue;
        }
        flush(i);
        out += '\\';
        switch (c) {
            case '"': out += '"'; break;
            case '\\': out += '\\'; break;
            case '\b': out += 'b'; break;
            case '\f': out += 'f'; break;
            case '\n': out += 'n'; break;
            case '\r': out += 'r'; break;
            case '\t': out += 't'; break;
            default:
                out += "u00";
                out += kHex[c >> 4];
                out += kHex[c & 0xF];
        }
        plain = ++i;
    }
    flush(s.size());
    out += '"';
    return std::nullopt;
}

Result<nlohmann::ordered_json> parseOrderedJson(std::string_view text, std::string_view what,
                                                size_t maxDepth) {
    return parseCapped<nlohmann::ordered_json>(text, what, maxDepth, false);
}

}  // namespace berth
