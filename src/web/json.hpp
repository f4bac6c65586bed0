// SPDX-License-Identifier: GPL-3.0-or-later
// One way to write the API's JSON: compact, UTF-8, invalid bytes replaced
// (DICOM text can hold anything) instead of a throw.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace web {

inline std::string
dump(const nlohmann::json& j)
{
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

} // namespace web
