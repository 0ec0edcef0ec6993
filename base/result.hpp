// Result<T>: the value of an operation or the reason it failed.
//
// Every error that crosses a module boundary is an Error with a stable,
// machine-readable code (listed in docs/errors.md) and a human message.
// Codes never change once published; messages may.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace casefile {

struct Error {
  std::string code;     // stable, snake_case: "wrong_key", "payload_too_large"
  std::string message;  // for people; never contains a secret or sealed value

  friend bool operator==(const Error&, const Error&) = default;
};

[[nodiscard]] inline Error make_error(std::string code, std::string message) {
  return Error{std::move(code), std::move(message)};
}

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  // REQUIRES: ok()
  T& value() & {
    assert(ok());
    return std::get<0>(state_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(state_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(state_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // REQUIRES: !ok()
  const Error& error() const& {
    assert(!ok());
    return std::get<1>(state_);
  }
  Error&& error() && {
    assert(!ok());
    return std::get<1>(std::move(state_));
  }

 private:
  std::variant<T, Error> state_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), failed_(true) {}  // NOLINT

  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }

  // REQUIRES: !ok()
  const Error& error() const& {
    assert(failed_);
    return error_;
  }
  Error&& error() && {
    assert(failed_);
    return std::move(error_);
  }

 private:
  Error error_;
  bool failed_ = false;
};

using Status = Result<void>;

inline Status ok_status() { return Status(); }

}  // namespace casefile

// Returns the error of `expr` (a Result) from the enclosing function.
#define CASEFILE_RETURN_IF_ERROR(expr)               \
  do {                                               \
    auto casefile_status_ = (expr);                  \
    if (!casefile_status_.ok()) {                    \
      return std::move(casefile_status_).error();    \
    }                                                \
  } while (false)
