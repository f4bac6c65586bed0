// SPDX-License-Identifier: GPL-3.0-or-later
// Reading fields of a platform's JSON answers the same way in every
// manifest parser (modules link nlohmann_json themselves).
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace source {

// The text of `j[key]`: a string as is, a number or anything else as its
// JSON text ("12"), absent or null as "". Platforms send IDs as either.
inline std::string
text_of(const nlohmann::json& j, const char* key)
{
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    return {};
  }
  return it->is_string() ? it->get<std::string>() : it->dump();
}

} // namespace source
