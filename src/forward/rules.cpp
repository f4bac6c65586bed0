// SPDX-License-Identifier: GPL-3.0-or-later
#include "rules.hpp"

#include <algorithm>

namespace forward {

namespace {

bool
allows(const std::vector<std::string>& allowed, const std::string& value)
{
  return allowed.empty() || std::find(allowed.begin(), allowed.end(), value) != allowed.end();
}

} // namespace

const char*
origin_kind_name(store::Origin::Kind kind)
{
  switch (kind) {
  case store::Origin::Kind::dimse:
    return "dimse";
  case store::Origin::Kind::import:
    return "import";
  case store::Origin::Kind::source:
    return "source";
  }
  return "?";
}

std::vector<std::string>
matching_destinations(const std::vector<Rule>& rules, const store::Origin& origin,
                      const std::string& modality)
{
  std::vector<std::string> out;
  for (const auto& r : rules) {
    if (allows(r.sources, origin_kind_name(origin.kind)) && allows(r.calling_aes, origin.peer)
        && allows(r.modalities, modality)
        && std::find(out.begin(), out.end(), r.destination) == out.end()) {
      out.push_back(r.destination);
    }
  }
  return out;
}

} // namespace forward
