// SPDX-License-Identifier: GPL-3.0-or-later
#include "multipart.hpp"

#include <source/source.hpp>

#include <core/strings.hpp>

namespace dicomweb {

std::string
boundary_of(const std::string& content_type)
{
  for (const auto& param : core::split(content_type, ';')) {
    const auto p = core::trim(param);
    const auto eq = p.find('=');
    if (eq == std::string_view::npos || core::to_upper_ascii(core::trim(p.substr(0, eq))) != "BOUNDARY") {
      continue;
    }
    auto value = std::string(core::trim(p.substr(eq + 1)));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    return value;
  }
  return {};
}

core::Result<std::vector<std::string_view>>
split_multipart(std::string_view body, const std::string& boundary)
{
  if (boundary.empty()) {
    return core::make_error(source::Errc::upstream_changed, "multipart response without boundary");
  }
  const std::string delimiter = "--" + boundary;
  std::vector<std::string_view> parts;
  auto pos = body.find(delimiter);
  if (pos == std::string_view::npos) {
    return core::make_error(source::Errc::upstream_changed, "multipart boundary not found");
  }
  for (;;) {
    pos += delimiter.size();
    if (body.substr(pos, 2) == "--") {
      break; // close delimiter
    }
    const auto headers_end = body.find("\r\n\r\n", pos);
    if (headers_end == std::string_view::npos) {
      return core::make_error(source::Errc::upstream_changed, "multipart part without headers end");
    }
    const auto start = headers_end + 4;
    const auto next = body.find("\r\n" + delimiter, start);
    if (next == std::string_view::npos) {
      return core::make_error(source::Errc::upstream_changed, "truncated multipart body");
    }
    parts.push_back(body.substr(start, next - start));
    pos = next + 2;
  }
  return parts;
}

} // namespace dicomweb
