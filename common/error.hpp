// common/error: the one error contract of berth — an Error carries errno plus a message that
// gains context as it travels up; Result<T> is what every library function returns.
#pragma once

#include <cerrno>
#include <cstring>
#include <sstream>
#include <string>
#include <utility>
#include <variant>

namespace berth {

// Concatenate anything streamable; g++ 12 has no <format>.
template <typename... Args>
std::string strCat(Args&&... args) {
    std::ostringstream out;
    (out << ... << std::forward<Args>(args));
    return out.str();
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
