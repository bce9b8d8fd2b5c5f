// common/json_fast: a plain recursive-descent reader for the documents berth reads on every
// lifecycle step (config.json, state.json). It builds the same nlohmann tree nlohmann's own
// parser builds, at a fraction of its instructions (nlohmann's lexer keeps every token's text for
// its error messages and goes through a SAX layer). It answers only for what it is sure of:
// anything else (an error, a floating-point or out-of-range number, a byte-order mark, nesting
// past the cap) returns nullopt and the caller parses with nlohmann, which then gives the tree or
// its error message. So its mistakes could only be a wrong tree for a valid document, which
// tests/unit/common/json_fast_test.cpp compares against nlohmann's, type by type.
#include "common/json.hpp"

#include <charconv>

namespace berth {
namespace {

class FastReader {
public:
    FastReader(std::string_view text, size_t maxDepth) : p_(text.data()), end_(text.data() + text.size()), maxDepth_(maxDepth) {}

    std::optional<nlohmann::json> document() {
        nlohmann::json v;
        skipSpace();
        if (!value(v, 0)) return std::nullopt;
        skipSpace();
        if (p_ != end_) return std::nullopt;
        return v;
    }

private:
    void skipSpace() {
        while (p_ != end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\t' || *p_ == '\r')) p_++;
    }

    bool literal(std::string_view word) {
        if (static_cast<size_t>(end_ - p_) < word.size() || std::string_view(p_, word.size()) != word) return false;
        p_ += word.size();
        return true;
    }

    bool value(nlohmann::json& out, size_t depth) {
        if (p_ == end_) return false;
        switch (*p_) {
            case '{': return object(out, depth + 1);
            case '[': return array(out, depth + 1);
            case '"': {
                std::string s;
                if (!string(s)) return false;
                out = std::move(s);
                return true;
            }
            case 't': out = true; return literal("true");
            case 'f': out = false; return literal("false");
            case 'n': out = nullptr; return literal("null");
            default: return number(out);
        }
    }

    bool object(nlohmann::json& out, size_t depth) {
        if (depth > maxDepth_) return false;
        out = nlohmann::json(nlohmann::json::value_t::object);
        auto& members = out.get_ref<nlohmann::json::object_t&>();
        p_++;  // '{'
        skipSpace();
        if (p_ != end_ && *p_ == '}') {
            p_++;
            return true;
        }
        std::string key;
        for (;;) {
            if (p_ == end_ || *p_ != '"') return false;
            key.clear();
            if (!string(key)) return false;
            skipSpace();
            if (p_ == end_ || *p_ != ':') return false;
            p_++;
            skipSpace();
            // The last of duplicate keys wins, as in nlohmann's parser (try_emplace leaves the
            // key alone when it is there already; value() overwrites the earlier one).
            auto slot = members.try_emplace(std::move(key)).first;
            if (!value(slot->second, depth)) return false;
            skipSpace();
            if (p_ == end_) return false;
            if (*p_ == '}') {
                p_++;
                return true;
            }
            if (*p_ != ',') return false;
            p_++;
            skipSpace();
        }
    }

    bool array(nlohmann::json& out, size_t depth) {
        if (depth > maxDepth_) return false;
        out = nlohmann::json(nlohmann::json::value_t::array);
        auto& items = out.get_ref<nlohmann::json::array_t&>();
        p_++;  // '['
        skipSpace();
        if (p_ != end_ && *p_ == ']') {
            p_++;
            return true;
        }
        for (;;) {
            items.emplace_back();
            if (!value(items.back(), depth)) return false;
            skipSpace();
            if (p_ == end_) return false;
            if (*p_ == ']') {
                p_++;
                return true;
            }
            if (*p_ != ',') return false;
            p_++;
            skipSpace();
        }
    }

    // Digits only, no fraction or exponent, within int64 (negative) or uint64: nlohmann's
    // number_integer and number_unsigned. Everything else is left to nlohmann.
    bool number(nlohmann::json& out) {
        const char* start = p_;
        bool negative = p_ != end_ && *p_ == '-';
        if (negative) p_++;
        if (p_ == end_ || *p_ < '0' || *p_ > '9') return false;
        if (*p_ == '0' && p_ + 1 != end_ && p_[1] >= '0' && p_[1] <= '9') return false;
        while (p_ != end_ && *p_ >= '0' && *p_ <= '9') p_++;
        if (p_ != end_ && (*p_ == '.' || *p_ == 'e' || *p_ == 'E')) return false;
        if (negative) {
            int64_t v = 0;
            auto r = std::from_chars(start, p_, v);
            if (r.ec != std::errc() || r.ptr != p_) return false;
            out = v;
        } else {
            uint64_t v = 0;
            auto r = std::from_chars(start, p_, v);
            if (r.ec != std::errc() || r.ptr != p_) return false;
            out = v;
        }
        return true;
    }

    static int hexValue(char c) {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    }

    bool hex4(unsigned& cp) {
        if (end_ - p_ < 4) return false;
        cp = 0;
        for (int i = 0; i < 4; i++) {
            int h = hexValue(p_[i]);
            if (h < 0) return false;
            cp = cp * 16 + static_cast<unsigned>(h);
        }
        p_ += 4;
        return true;
    }

    // p_ just past "\u": the code point (a surrogate pair joined), as UTF-8.
    bool unicodeEscape(std::string& out) {
        unsigned cp = 0;
        if (!hex4(cp)) return false;
        if (cp >= 0xDC00 && cp <= 0xDFFF) return false;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            unsigned low = 0;
            if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') return false;
            p_ += 2;
            if (!hex4(low) || low < 0xDC00 || low > 0xDFFF) return false;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        }
        if (cp < 0x80) {
            out += static_cast<char>(cp);
        } else if (cp < 0x800) {
            out += static_cast<char>(0xC0 | (cp >> 6));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            out += static_cast<char>(0xE0 | (cp >> 12));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        } else {
            out += static_cast<char>(0xF0 | (cp >> 18));
            out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        }
        return true;
    }

    bool escape(std::string& out) {
        if (p_ == end_) return false;
        char c = *p_++;
        switch (c) {
            case '"': out += '"'; return true;
            case '\\': out += '\\'; return true;
            case '/': out += '/'; return true;
            case 'b': out += '\b'; return true;
            case 'f': out += '\f'; return true;
            case 'n': out += '\n'; return true;
            case 'r': out += '\r'; return true;
            case 't': out += '\t'; return true;
            case 'u': return unicodeEscape(out);
            default: return false;
        }
    }

    // p_ at the opening quote. Raw control characters and bytes that are not UTF-8 are errors,
    // as in nlohmann's lexer (utf8SequenceLength is the same check its serializer makes).
    bool string(std::string& out) {
        p_++;
        const char* run = p_;
        for (;;) {
            if (p_ == end_) return false;
            auto c = static_cast<unsigned char>(*p_);
            if (c == '"') {
                out.append(run, p_);
                p_++;
                return true;
            }
            if (c == '\\') {
                out.append(run, p_);
                p_++;
                if (!escape(out)) return false;
                run = p_;
            } else if (c < 0x20) {
                return false;
            } else if (c < 0x80) {
                p_++;
            } else {
                size_t n = utf8SequenceLength(std::string_view(p_, static_cast<size_t>(end_ - p_)), 0);
                if (n == 0) return false;
                p_ += n;
            }
        }
    }

    const char* p_;
    const char* end_;
    size_t maxDepth_;
};

}  // namespace

std::optional<nlohmann::json> parseJsonFast(std::string_view text, size_t maxDepth) {
    return FastReader(text, maxDepth).document();
}

}  // namespace berth
