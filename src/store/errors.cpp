// SPDX-License-Identifier: GPL-3.0-or-later
#include "errors.hpp"

#include <core/error_category.hpp>

#include <string>

namespace store {

namespace {

const char*
describe(Errc e)
{
  switch (e) {
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

} // namespace

const std::error_category&
error_category()
{
  static const core::EnumCategory<Errc> k_category{"store", &describe};
  return k_category;
}

std::error_code
make_error_code(Errc e)
{
  return {static_cast<int>(e), error_category()};
}

} // namespace store
