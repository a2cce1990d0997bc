#pragma once
// Result<T>: a C++20 stand-in for std::expected<T, Error>. Expected failures
// travel as values; exceptions never cross a module boundary.
#include <cassert>
#include <type_traits>
#include <utility>
#include <variant>

#include "common/error.h"

namespace berth {

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { assert(ok()); return std::get<0>(v_); }
  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const { assert(!ok()); return std::get<1>(v_); }
  Error&& takeError() { assert(!ok()); return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

// Result<void> equivalent.
struct Ok {};
using Status = Result<Ok>;
inline Status okStatus() { return Ok{}; }

}  // namespace berth

// Propagate an error from an expression returning Result<...>.
#define BERTH_TRY(expr)                                 \
  do {                                                  \
    auto&& berth_try_r_ = (expr);                       \
    if (!berth_try_r_.ok()) return berth_try_r_.takeError(); \
  } while (0)
