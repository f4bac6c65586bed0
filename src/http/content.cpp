// SPDX-License-Identifier: GPL-3.0-or-later
#include "content.hpp"

#include <nlohmann/json.hpp>

#include <cctype>

namespace http {

bool
looks_like_html(std::string_view body)
{
  std::size_t i = body.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0; // UTF-8 BOM
  while (i < body.size() && std::isspace(static_cast<unsigned char>(body[i])) != 0) {
    ++i;
  }
  return i < body.size() && body[i] == '<';
}

bool
is_part10(std::string_view body)
{
  return body.size() >= 132 && body.compare(128, 4, "DICM") == 0;
}

bool
looks_like_dicom(std::string_view body)
{
  if (is_part10(body)) {
    return true;
  }
  return body.size() >= 8 && (body[0] == '\x02' || body[0] == '\x08') && body[1] == '\0';
}

bool
matches(Expect expect, std::string_view body)
{
  switch (expect) {
  case Expect::any:
  case Expect::html:
    return true;
  case Expect::json:
    return nlohmann::json::accept(body);
  case Expect::dicom:
    return looks_like_dicom(body);
  case Expect::jpeg2000_or_raw:
    return !body.empty() && !looks_like_html(body);
  }
  return true;
}

const char*
expected_name(Expect expect)
{
  switch (expect) {
  case Expect::json:
    return "JSON";
  case Expect::dicom:
    return "DICOM";
  case Expect::jpeg2000_or_raw:
    return "image data";
  default:
    return "content";
  }
}

std::string
describe_body(std::string_view body)
{
  if (body.empty()) {
    return "empty body";
  }
  if (looks_like_html(body)) {
    return "HTML page";
  }
  if (nlohmann::json::accept(body)) {
    return "JSON";
  }
  return std::to_string(body.size()) + " bytes of other data";
}

} // namespace http
