// SPDX-License-Identifier: GPL-3.0-or-later
#include "cookies.hpp"

#include <core/strings.hpp>

#include <cstdlib>
#include <vector>

namespace http {

std::optional<std::string>
cookie_value(std::string_view line, const std::string& host, const std::string& name,
             std::time_t now)
{
  std::vector<std::string> fields;
  while (fields.size() < 6) {
    const auto tab = line.find('\t');
    if (tab == std::string_view::npos) {
      break;
    }
    fields.emplace_back(line.substr(0, tab));
    line.remove_prefix(tab + 1);
  }
  if (fields.size() != 6 || fields[5] != name) {
    return std::nullopt;
  }
  std::string domain = core::to_lower_ascii(fields[0]);
  if (domain.compare(0, 10, "#httponly_") == 0) {
    domain.erase(0, 10);
  }
  if (!domain.empty() && domain[0] == '.') {
    domain.erase(0, 1);
  }
  const bool tail_match = fields[1] == "TRUE";
  const bool host_matches =
      host == domain
      || (tail_match && host.size() > domain.size()
          && host.compare(host.size() - domain.size(), domain.size(), domain) == 0
          && host[host.size() - domain.size() - 1] == '.');
  const long long expires = std::atoll(fields[4].c_str());
  if (host_matches && (expires == 0 || expires > now)) {
    return std::string(line);
  }
  return std::nullopt;
}

} // namespace http
