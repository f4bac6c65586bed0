// SPDX-License-Identifier: GPL-3.0-or-later
#include "errors.hpp"

#include <core/error_category.hpp>

#include <string>

namespace net {

namespace {

const char*
describe(Errc e)
{
  switch (e) {
  case Errc::association_failed:
    return "association failed";
  case Errc::exchange_failed:
    return "DIMSE exchange failed";
  case Errc::no_accepted_context:
    return "the peer accepts none of these SOP classes";
  }
  return "network error";
}

} // namespace

const std::error_category&
error_category()
{
  static const core::EnumCategory<Errc> k_category{"net", &describe};
  return k_category;
}

std::error_code
make_error_code(Errc e)
{
  return {static_cast<int>(e), error_category()};
}

} // namespace net
