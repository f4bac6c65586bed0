// SPDX-License-Identifier: GPL-3.0-or-later
// The `code` of the API's error objects (docs/api.md) for the errors the
// layers below return, so that the page can say each in the user's language.
#pragma once

#include <core/result.hpp>

#include <string>

namespace web {

struct ApiError
{
  int status = 500;
  std::string code;
};

ApiError api_error(const core::Error& error);

} // namespace web
