// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <string>
#include <system_error>

namespace core {

// A std::error_category for one folder's error enum: a name and a function
// describing each value. Every folder's errors.cpp defines one of these.
template <typename Enum> class EnumCategory final : public std::error_category
{
public:
  using Describe = const char* (*)(Enum);

  EnumCategory(const char* name, Describe describe) : m_name(name), m_describe(describe) {}
  const char* name() const noexcept override { return m_name; }
  std::string message(int ev) const override { return m_describe(static_cast<Enum>(ev)); }

private:
  const char* m_name;
  Describe m_describe;
};

} // namespace core
