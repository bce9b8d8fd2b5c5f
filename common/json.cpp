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

template <typename Json, typename... Callback>
Result<Json> parseCapped(std::string_view text, std::string_view what, size_t maxDepth, Callback... cb) {
    if (jsonNestingDepth(text, maxDepth) > maxDepth)
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
    return parseCapped<nlohmann::json>(text, what, maxDepth);
}

Result<nlohmann::json> parseJsonSkipping(std::string_view text, std::string_view what,
                                         std::string_view skipKey, size_t maxDepth) {
    // Dropping the key at depth 1 alone would still build every value inside it and throw each
    // away; refusing every event below it builds nothing (the lexer still reads it all).
    bool skipping = false;
    auto keep = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
        if (depth == 1 && event == nlohmann::json::parse_event_t::key) {
            skipping = parsed.is_string() && parsed.get_ref<const std::string&>() == skipKey;
            return !skipping;
        }
        if (depth == 1 && event == nlohmann::json::parse_event_t::object_end) skipping = false;
        return !(skipping && depth >= 1 &&
                 event != nlohmann::json::parse_event_t::object_end);
    };
    return parseCapped<nlohmann::json>(text, what, maxDepth,
                                       nlohmann::json::parser_callback_t(keep));
}

Result<nlohmann::ordered_json> parseOrderedJson(std::string_view text, std::string_view what,
                                                size_t maxDepth) {
    return parseCapped<nlohmann::ordered_json>(text, what, maxDepth);
}

}  // namespace berth
