// Error values that carry the operation, the errno and the object up to one clear line.
#pragma once

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <variant>

namespace stasis {

enum class ErrorKind {
  kIO,               // a syscall or file operation failed
  kCorruption,       // an image is malformed
  kNotSupported,     // the kernel, the CPU or the engine lacks something
  kInvalidArgument,  // the user asked for something impossible
  kNotFound,         // a pid, file or object vanished
  kInternal,         // a bug in stasis
};

const char* ErrorKindName(ErrorKind kind);

class Error {
 public:
  Error(ErrorKind kind, std::string message, int sys_errno = 0)
      : kind_(kind), message_(std::move(message)), errno_(sys_errno) {}

  // "open(/etc/x)" + errno -> error "open(/etc/x): No such file or directory".
  static Error FromErrno(std::string what, int sys_errno = errno);

  ErrorKind kind() const { return kind_; }
  int sys_errno() const { return errno_; }
  const std::string& message() const { return message_; }

  // Prepends an outer context: "pid 42" + "read maps: ..." -> "pid 42: read maps: ...".
  Error& Context(const std::string& outer) {
    message_ = outer + ": " + message_;
    return *this;
  }

 private:
  ErrorKind kind_;
  std::string message_;
  int errno_;
};

inline Error Corrupt(std::string m) { return Error(ErrorKind::kCorruption, std::move(m)); }
inline Error Unsupported(std::string m) { return Error(ErrorKind::kNotSupported, std::move(m)); }
inline Error InvalidArg(std::string m) { return Error(ErrorKind::kInvalidArgument, std::move(m)); }
inline Error Internal(std::string m) { return Error(ErrorKind::kInternal, std::move(m)); }
inline Error SysError(std::string what, int e = errno) { return Error::FromErrno(std::move(what), e); }

// A value or an Error. Deliberately tiny: we are on C++20 without std::expected.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}       // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}   // NOLINT: implicit by design

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  Error& error() & { return std::get<1>(v_); }
  const Error& error() const& { return std::get<1>(v_); }
  Error&& error() && { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

// Success or an Error.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)), failed_(true) {}  // NOLINT

  static Status Ok() { return Status(); }
  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  const Error& error() const& { return error_; }
  Error& error() & { return error_; }
  Error&& error() && { return std::move(error_); }

 private:
  Error error_{ErrorKind::kInternal, ""};
  bool failed_ = false;
};

}  // namespace stasis

// Propagates a failed Status/Result from the enclosing function, optionally adding context.
#define STASIS_TRY(expr)                                  \
  do {                                                    \
    auto&& stasis_try_r_ = (expr);                        \
    if (!stasis_try_r_.ok()) return std::move(stasis_try_r_).error(); \
  } while (0)

#define STASIS_TRY_CTX(expr, ctx)                         \
  do {                                                    \
    auto&& stasis_try_r_ = (expr);                        \
    if (!stasis_try_r_.ok()) return std::move(stasis_try_r_.error().Context(ctx)); \
  } while (0)

// Evaluates a Result and yields its value, or returns its error (GNU statement expression).
#define STASIS_VALUE(expr)                                \
  ({                                                      \
    auto stasis_val_r_ = (expr);                          \
    if (!stasis_val_r_.ok()) return std::move(stasis_val_r_).error(); \
    std::move(stasis_val_r_).value();                     \
  })

#define STASIS_VALUE_CTX(expr, ctx)                       \
  ({                                                      \
    auto stasis_val_r_ = (expr);                          \
    if (!stasis_val_r_.ok()) return std::move(stasis_val_r_.error().Context(ctx)); \
    std::move(stasis_val_r_).value();                     \
  })
