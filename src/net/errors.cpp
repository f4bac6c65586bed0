// SPDX-License-Identifier: GPL-3.0-or-later
#include "errors.hpp"

#include <string>

namespace net {

namespace {

class Category : public std::error_category
{
public:
  const char* name() const noexcept override
  {
    return "net";
  }
  std::string message(int ev) const override
  {
    switch (static_cast<Errc>(ev)) {
    case Errc::association_failed:
      return "association failed";
    case Errc::exchange_failed:
      return "DIMSE exchange failed";
    }
    return "network error";
  }
};

} // namespace

const std::error_category&
error_category()
{
  static const Category k_category;
  return k_category;
}

std::error_code
make_error_code(Errc e)
{
  return {static_cast<int>(e), error_category()};
}

} // namespace net
