// SPDX-License-Identifier: GPL-3.0-or-later
#include "errors.hpp"

#include <core/error_category.hpp>

#include <string>

namespace http {

namespace {

const char*
describe(Errc e)
{
  switch (e) {
  case Errc::connect_failed:
    return "cannot connect";
  case Errc::timeout:
    return "HTTP request timed out";
  case Errc::transfer_failed:
    return "HTTP transfer failed";
  case Errc::http_status:
    return "HTTP error status";
  case Errc::unexpected_content:
    return "unexpected response content";
  case Errc::cancelled:
    return "cancelled";
  }
  return "unknown http error";
}

} // namespace

const std::error_category&
error_category()
{
  static const core::EnumCategory<Errc> k_category{"http", &describe};
  return k_category;
}

std::error_code
make_error_code(Errc e)
{
  return {static_cast<int>(e), error_category()};
}

} // namespace http
