// SPDX-License-Identifier: GPL-3.0-or-later
#include "multipart.hpp"

#include <core/strings.hpp>

namespace http {

std::string
boundary_of(std::string_view content_type)
{
  for (const auto& param : core::split(content_type, ';')) {
    const auto p = core::trim(param);
    const auto eq = p.find('=');
    if (eq == std::string_view::npos
        || !core::iequals_ascii(core::trim(p.substr(0, eq)), "boundary")) {
      continue;
    }
    auto value = core::trim(p.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    return std::string(value);
  }
  return {};
}

MultipartParts
split_multipart(std::string_view body, std::string_view boundary)
{
  MultipartParts out;
  if (boundary.empty()) {
    out.problem = "multipart response without boundary";
    return out;
  }
  const std::string delimiter = "--" + std::string(boundary);
  std::size_t pos = body.find(delimiter);
  if (pos == std::string_view::npos) {
    out.problem = "multipart boundary not found";
    return out;
  }
  for (;;) {
    pos += delimiter.size();
    if (body.compare(pos, 2, "--") == 0) {
      return out; // close delimiter
    }
    const auto line_end = body.find('\n', pos);
    if (line_end == std::string_view::npos) {
      break;
    }
    std::size_t content = line_end + 1;
    if (body.compare(content, 2, "\r\n") == 0) {
      content += 2;
    } else if (body.compare(content, 1, "\n") == 0) {
      content += 1;
    } else {
      const auto crlf = body.find("\r\n\r\n", content);
      const auto lf = body.find("\n\n", content);
      if (crlf == std::string_view::npos && lf == std::string_view::npos) {
        break;
      }
      content = crlf < lf ? crlf + 4 : lf + 2;
    }
    const auto next = body.find("\n" + delimiter, content);
    if (next == std::string_view::npos) {
      break; // no closing delimiter: the body was cut, drop the tail
    }
    std::size_t end = next;
    if (end > content && body[end - 1] == '\r') {
      --end;
    }
    out.parts.push_back(body.substr(content, end - content));
    pos = next + 1;
  }
  out.problem = "truncated multipart body";
  return out;
}

} // namespace http
