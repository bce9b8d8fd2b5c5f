// common/json: parseJson — the nesting cap in front of nlohmann's parser.
#include "common/json.hpp"

#include <cctype>

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

template <typename Json>
Result<Json> parseCapped(std::string_view text, std::string_view what, size_t maxDepth) {
    if (jsonNestingDepth(text, maxDepth) > maxDepth)
        return Error(EINVAL, strCat(what, ": JSON nested deeper than ", maxDepth, " levels"))
            .hideErrno();
    try {
        return Json::parse(text.begin(), text.end());
    } catch (const nlohmann::json::exception& e) {
        return Error(EINVAL, strCat(what, ": invalid JSON: ", shortJsonError(e.what())))
            .hideErrno();
    }
}

}  // namespace

Result<nlohmann::json> parseJson(std::string_view text, std::string_view what, size_t maxDepth) {
    return parseCapped<nlohmann::json>(text, what, maxDepth);
}

Result<nlohmann::ordered_json> parseOrderedJson(std::string_view text, std::string_view what,
                                                size_t maxDepth) {
    return parseCapped<nlohmann::ordered_json>(text, what, maxDepth);
}

}  // namespace berth
