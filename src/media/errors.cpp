// SPDX-License-Identifier: GPL-3.0-or-later
#include "errors.hpp"

#include <core/error_category.hpp>

namespace media {

namespace {

const char*
describe(Errc e)
{
  switch (e) {
  case Errc::not_a_capture:
    return "not a HAR capture";
  }
  return "media error";
}

} // namespace

const std::error_category&
error_category()
{
  static const core::EnumCategory<Errc> k_category{"media", &describe};
  return k_category;
}

std::error_code
make_error_code(Errc e)
{
  return {static_cast<int>(e), error_category()};
}

} // namespace media
