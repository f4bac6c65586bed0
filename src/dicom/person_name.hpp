// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <string>
#include <string_view>

namespace dicom {

// The three component groups of a PN value (PS3.5 6.2.1.1: alphabetic,
// ideographic, phonetic, separated by '='), each normalised for matching:
// ASCII upper case, trailing '^' and spaces removed. "Wang^XiaoDong=王^小東"
// gives {"WANG^XIAODONG", "王^小東", ""}.
struct PersonNameKeys
{
  std::string alphabetic;
  std::string ideographic;
  std::string phonetic;
};

PersonNameKeys person_name_keys(std::string_view utf8_name);

} // namespace dicom
