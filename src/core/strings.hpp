// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <string>
#include <string_view>
#include <vector>

// Small string helpers shared by every folder.
namespace core {

// Without leading and trailing spaces (and NULs, DICOM's UI padding).
std::string_view trim(std::string_view text);

// ASCII upper case; other bytes (UTF-8 sequences) unchanged.
std::string to_upper_ascii(std::string_view text);
std::string to_lower_ascii(std::string_view text);

// Equal ignoring ASCII case (header names, URL parameters, DICOM keywords).
bool iequals_ascii(std::string_view a, std::string_view b);

// Split on `sep`, keeping empty fields.
std::vector<std::string> split(std::string_view text, char sep);

// True if `text` is well-formed UTF-8.
bool is_valid_utf8(std::string_view text);

// `text` with every ill-formed UTF-8 byte replaced by U+FFFD.
std::string sanitize_utf8(std::string_view text);

// Lower-case hex of `size` bytes.
std::string to_hex(const unsigned char* data, std::size_t size);

} // namespace core
