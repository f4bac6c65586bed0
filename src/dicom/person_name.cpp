// SPDX-License-Identifier: GPL-3.0-or-later
#include "person_name.hpp"

#include <core/strings.hpp>

namespace dicom {

namespace {

std::string
normalise_group(std::string_view group)
{
  auto out = core::to_upper_ascii(core::trim(group));
  while (!out.empty() && (out.back() == '^' || out.back() == ' ')) {
    out.pop_back();
  }
  return out;
}

} // namespace

PersonNameKeys
person_name_keys(std::string_view utf8_name)
{
  const auto groups = core::split(utf8_name, '=');
  PersonNameKeys keys;
  keys.alphabetic = normalise_group(groups[0]);
  if (groups.size() > 1) {
    keys.ideographic = normalise_group(groups[1]);
  }
  if (groups.size() > 2) {
    keys.phonetic = normalise_group(groups[2]);
  }
  return keys;
}

} // namespace dicom
