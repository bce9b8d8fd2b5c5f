#include "common/units.hpp"

#include <cctype>
#include <cmath>

namespace berth::units {

Result<int64_t> parseBytes(const std::string& s) {
    auto bad = [&] { return Error::make("invalid size \"", s, "\": expected a number with an optional unit (k, m, g, t)"); };
    if (s == "-1") return int64_t{-1};
    size_t i = 0;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) i++;
    if (i == 0) return bad();
    double num = 0;
    try {
        size_t used = 0;
        num = std::stod(s.substr(0, i), &used);
        if (used != i) return bad();
    } catch (...) {
        return bad();
    }
    std::string unit;
    for (char c : s.substr(i))
        if (c != ' ') unit += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (unit.size() > 1 && unit.back() == 'b') unit.pop_back();  // "kb", "mib" -> "k", "mi"
    if (unit.size() > 1 && unit.back() == 'i') unit.pop_back();
    double mult = 1;
    if (unit.empty() || unit == "b") mult = 1;
    else if (unit == "k") mult = 1024.0;
    else if (unit == "m") mult = 1024.0 * 1024;
    else if (unit == "g") mult = 1024.0 * 1024 * 1024;
    else if (unit == "t") mult = 1024.0 * 1024 * 1024 * 1024;
    else if (unit == "p") mult = 1024.0 * 1024 * 1024 * 1024 * 1024;
    else return bad();
    double v = num * mult;
    if (v > 9.2e18) return Error::make("invalid size \"", s, "\": too large");
    return static_cast<int64_t>(v);
}

Result<std::chrono::nanoseconds> parseDuration(const std::string& s) {
    auto bad = [&] { return Error::make("invalid duration \"", s, "\": expected e.g. 5s, 250ms, 1m30s"); };
    if (s == "0") return std::chrono::nanoseconds(0);
    size_t i = 0;
    long double total = 0;
    if (s.empty()) return bad();
    while (i < s.size()) {
        size_t start = i;
        while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) i++;
        if (i == start) return bad();
        long double num = 0;
        try {
            num = std::stold(s.substr(start, i - start));
        } catch (...) {
            return bad();
        }
        size_t u = i;
        while (i < s.size() && std::isalpha(static_cast<unsigned char>(s[i]))) i++;
        std::string unit = s.substr(u, i - u);
        long double mult;
        if (unit == "ns") mult = 1;
        else if (unit == "us" || unit == "µs") mult = 1e3;
        else if (unit == "ms") mult = 1e6;
        else if (unit == "s") mult = 1e9;
        else if (unit == "m") mult = 60e9;
        else if (unit == "h") mult = 3600e9;
        else return bad();
        total += num * mult;
    }
    if (total > 9.2e18L) return Error::make("invalid duration \"", s, "\": too large");
    return std::chrono::nanoseconds(static_cast<int64_t>(total));
}

}  // namespace berth::units
