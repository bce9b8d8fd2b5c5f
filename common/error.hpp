// common/error: the one error contract of berth — an Error carries errno plus a message that
// gains context as it travels up; Result<T> is what every library function returns.
#pragma once

#include <cerrno>
#include <charconv>
#include <cstring>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace berth::detail {

// Strings, characters and integers: appended by strCat itself, as `std::ostream <<` prints
// them. An ostringstream per message cost ~3 000 instructions (its locale set-up), and a `run`
// builds a few hundred messages and paths with strCat.
template <typename T>
inline constexpr bool kPlainStrArg = std::is_integral_v<std::decay_t<T>> ||
                                     std::is_convertible_v<const std::decay_t<T>&, std::string_view>;

template <typename T>
void strAppend(std::string& out, T&& arg) {
    using D = std::decay_t<T>;
    if constexpr (std::is_same_v<D, char> || std::is_same_v<D, signed char> || std::is_same_v<D, unsigned char>) {
        out.push_back(static_cast<char>(arg));
    } else if constexpr (std::is_same_v<D, bool>) {
        out.push_back(arg ? '1' : '0');
    } else if constexpr (std::is_integral_v<D>) {
        size_t at = out.size();
        out.resize(at + 24);  // digits and sign of any 64-bit value
        auto r = std::to_chars(out.data() + at, out.data() + out.size(), arg);
        out.resize(static_cast<size_t>(r.ptr - out.data()));
    } else if constexpr (std::is_array_v<std::remove_reference_t<T>> && std::is_same_v<D, const char*>) {
        out.append(static_cast<const char*>(arg));  // a literal, up to its NUL as the stream
    } else if constexpr (std::is_same_v<D, const char*> || std::is_same_v<D, char*>) {
        const char* p = arg;
        if (p != nullptr) out.append(p);  // a null pointer prints nothing (the stream's badbit)
    } else {
        out.append(std::string_view(arg));
    }
}

}  // namespace berth::detail

namespace berth {

// Concatenate anything streamable; g++ 12 has no <format>. Only strings, characters and
// integers: appended directly; anything else in the list (floating point, enums, paths,
// manipulators such as std::oct, which change how later arguments print): one stream for the
// whole list, as before. Not inlined: inlined into callers, g++ 12 reports false -Wrestrict
// overlaps in their own string code (GCC PR 105651).
template <typename... Args>
[[gnu::noinline]] std::string strCat(Args&&... args) {
    if constexpr ((detail::kPlainStrArg<Args> && ...)) {
        std::string out;
        (detail::strAppend(out, std::forward<Args>(args)), ...);
        return out;
    } else {
        std::ostringstream out;
        (out << ... << std::forward<Args>(args));
        return out.str();
    }
}

class Error {
public:
    Error() = default;
    Error(int err, std::string msg) : errno_(err), msg_(std::move(msg)) {}

    // Build right after the failing call: Error::fromErrno("mount ", src, " on ", dst).
    template <typename... Args>
    static Error fromErrno(Args&&... args) {
        int saved = errno;
        return Error(saved, strCat(std::forward<Args>(args)...));
    }
    template <typename... Args>
    static Error make(Args&&... args) {
        return Error(0, strCat(std::forward<Args>(args)...));
    }

    int err() const { return errno_; }
    // Keep the errno for callers to test, but leave strerror out of the user's line when the
    // message already says it (e.g. "container \"x\" does not exist").
    Error& hideErrno() {
        showErrno_ = false;
        return *this;
    }
    const std::string& message() const { return msg_; }

    // "context: message" — the outermost context first, as users read it.
    template <typename... Args>
    Error& context(Args&&... args) {
        msg_ = strCat(std::forward<Args>(args)..., ": ", msg_);
        return *this;
    }

    // The one line the CLI prints: message plus strerror when an errno is carried.
    std::string what() const {
        if (errno_ == 0 || !showErrno_) return msg_;
        return msg_ + ": " + std::strerror(errno_);
    }

private:
    int errno_ = 0;
    std::string msg_;
    bool showErrno_ = true;
};

template <typename T>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
    Result(Error err) : v_(std::in_place_index<1>, std::move(err)) {}

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }

    T& value() & { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    const T& value() const& { return std::get<0>(v_); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

    Error& error() & { return std::get<1>(v_); }
    const Error& error() const& { return std::get<1>(v_); }
    Error&& error() && { return std::get<1>(std::move(v_)); }

private:
    std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Error err) : err_(std::move(err)), failed_(true) {}

    bool ok() const { return !failed_; }
    explicit operator bool() const { return ok(); }
    Error& error() & { return err_; }
    const Error& error() const& { return err_; }
    Error&& error() && { return std::move(err_); }

private:
    Error err_;
    bool failed_ = false;
};

using Status = Result<void>;

}  // namespace berth

// Propagate an error, optionally adding context: TRY(doThing()); TRY_CTX(doThing(), "while x").
#define BERTH_CONCAT_(a, b) a##b
#define BERTH_CONCAT(a, b) BERTH_CONCAT_(a, b)
#define TRY(expr)                                                   \
    do {                                                            \
        auto&& BERTH_CONCAT(_r, __LINE__) = (expr);                 \
        if (!BERTH_CONCAT(_r, __LINE__).ok())                       \
            return std::move(BERTH_CONCAT(_r, __LINE__)).error();   \
    } while (0)
#define TRY_CTX(expr, ...)                                                             \
    do {                                                                               \
        auto&& BERTH_CONCAT(_r, __LINE__) = (expr);                                    \
        if (!BERTH_CONCAT(_r, __LINE__).ok())                                          \
            return std::move(BERTH_CONCAT(_r, __LINE__).error().context(__VA_ARGS__)); \
    } while (0)
// Assign the value of a Result or return its error: ASSIGN_OR_RETURN(auto fd, openThing());
#define ASSIGN_OR_RETURN(decl, expr)                                  \
    auto BERTH_CONCAT(_r, __LINE__) = (expr);                         \
    if (!BERTH_CONCAT(_r, __LINE__).ok())                             \
        return std::move(BERTH_CONCAT(_r, __LINE__)).error();         \
    decl = std::move(BERTH_CONCAT(_r, __LINE__)).value()
