// SPDX-License-Identifier: GPL-3.0-or-later
// RFC 4648 section 4 base64 (HAR bodies, platform APIs).
#pragma once

#include <string>
#include <string_view>

namespace core {

std::string base64_encode(std::string_view bytes);

// Decode into `out`. Whitespace is ignored (exporters wrap lines); padding
// may be left out; anything else outside the alphabet, or data after '=',
// fails (false, `out` unspecified).
bool base64_decode(std::string_view in, std::string& out);

} // namespace core
