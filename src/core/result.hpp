// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <variant>

namespace core {

// An expected failure: a category-qualified code plus a human-readable detail
// (file name, UID, peer...). Never carries patient data.
struct Error
{
  std::error_code code;
  std::string detail;

  // One line for logs and the command line: "detail: message".
  std::string message() const;
};

inline Error
make_error(std::error_code code, std::string detail = {})
{
  return Error{code, std::move(detail)};
}

// A value or an Error. Cheap wrapper over std::variant, in the spirit of
// std::expected; `operator bool` tells success.
template <typename T> class [[nodiscard]] Result
{
public:
  Result(T value) : m_v(std::in_place_index<0>, std::move(value)) {}
  Result(Error error) : m_v(std::in_place_index<1>, std::move(error)) {}

  explicit operator bool() const { return m_v.index() == 0; }
  bool has_value() const { return m_v.index() == 0; }
  // Taking the value of an error is a programming error; it throws with the
  // error's message rather than a bare bad_variant_access.
  T& value()
  {
    check();
    return std::get<0>(m_v);
  }
  const T& value() const
  {
    check();
    return std::get<0>(m_v);
  }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { return std::get<1>(m_v); }

private:
  void check() const
  {
    if (m_v.index() != 0) {
      throw std::logic_error("Result::value() on an error: " + std::get<1>(m_v).message());
    }
  }

  std::variant<T, Error> m_v;
};

// Result<void>: success or an Error.
template <> class [[nodiscard]] Result<void>
{
public:
  Result() = default;
  Result(Error error) : m_error(std::move(error)), m_ok(false) {}
  explicit operator bool() const { return m_ok; }
  bool has_value() const { return m_ok; }
  const Error& error() const { return m_error; }

private:
  Error m_error;
  bool m_ok = true;
};

} // namespace core
