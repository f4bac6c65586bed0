// SPDX-License-Identifier: GPL-3.0-or-later
// multipart/related bodies (RFC 2046 5.1, as DICOMweb uses them: PS3.18
// 8.6.1.2): WADO-RS responses and the same responses saved in HAR captures.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace http {

// The boundary parameter of a multipart Content-Type (RFC 2046 5.1.1),
// unquoted, or "".
std::string boundary_of(std::string_view content_type);

struct MultipartParts
{
  // The part bodies, as views into the body split, up to the close
  // delimiter or the first part that is not complete.
  std::vector<std::string_view> parts;
  // Empty when the body was well-formed to its close delimiter; otherwise
  // what is wrong ("multipart boundary not found", "truncated multipart
  // body", ...): a cut capture keeps the parts before the cut.
  std::string problem;
};

// Part headers end at the first empty line (a part without headers is
// allowed); lines end in CRLF, bare LF is tolerated.
MultipartParts split_multipart(std::string_view body, std::string_view boundary);

} // namespace http
