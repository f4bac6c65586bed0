// SPDX-License-Identifier: GPL-3.0-or-later
// The store API's error categories: cf_store_api, linked by every folder
// that sees the store only through ingest.hpp, query.hpp and find.hpp.
#include "errors.hpp"

#include "find.hpp"

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
  case Errc::limit_reached:
    return "storage limit reached";
  }
  return "unknown store error";
}

const char*
describe_find(FindErrc e)
{
  switch (e) {
  case FindErrc::bad_level:
    return "query/retrieve level not valid for this information model";
  case FindErrc::bad_unique_key:
    return "unique key missing or not a single value";
  case FindErrc::bad_value:
    return "key value cannot be matched";
  case FindErrc::missing_level:
    return "QueryRetrieveLevel missing";
  case FindErrc::bad_charset:
    return "SpecificCharacterSet of the identifier cannot be decoded";
  }
  return "find error";
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

const std::error_category&
find_error_category()
{
  static const core::EnumCategory<FindErrc> k_category{"find", &describe_find};
  return k_category;
}

std::error_code
make_error_code(FindErrc e)
{
  return {static_cast<int>(e), find_error_category()};
}

} // namespace store
