// SPDX-License-Identifier: GPL-3.0-or-later
#include "source.hpp"

#include <core/error_category.hpp>

#include <string>

namespace source {

namespace {

const char*
describe(Errc e)
{
  switch (e) {
  case Errc::unsupported_url:
    return "unsupported link";
  case Errc::bad_request:
    return "the link lacks required parameters";
  case Errc::auth_rejected:
    return "wrong password or code";
  case Errc::link_expired:
    return "the link has expired or was cancelled";
  case Errc::upstream_changed:
    return "the platform changed its pages or API";
  case Errc::cancelled:
    return "cancelled";
  }
  return "source error";
}

} // namespace

const std::error_category&
error_category()
{
  static const core::EnumCategory<Errc> k_category{"source", &describe};
  return k_category;
}

std::error_code
make_error_code(Errc e)
{
  return {static_cast<int>(e), error_category()};
}

} // namespace source
