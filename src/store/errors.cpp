// SPDX-License-Identifier: GPL-3.0-or-later
#include "errors.hpp"

#include <string>

namespace store {

namespace {

class Category : public std::error_category
{
public:
  const char* name() const noexcept override
  {
    return "store";
  }
  std::string message(int ev) const override
  {
    switch (static_cast<Errc>(ev)) {
    case Errc::duplicate_rejected:
      return "SOP instance already stored";
    case Errc::disk_full:
      return "no space left on the storage device";
    case Errc::io_failed:
      return "storage I/O failed";
    case Errc::index_failed:
      return "index database failed";
    case Errc::not_found:
      return "not found";
    }
    return "unknown store error";
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

} // namespace store
