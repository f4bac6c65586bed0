// SPDX-License-Identifier: GPL-3.0-or-later
// What a response body is: the checks behind Request::expect (a platform
// that answers 200 with its login page is an error, not an instance).
#pragma once

#include <string>
#include <string_view>

namespace http {

// What a request expects back; a body that is not that fails the request.
enum class Expect { any, json, dicom, jpeg2000_or_raw, html };

// A Part 10 file: 128-byte preamble and "DICM" (PS3.10 7.1), so at least
// 132 bytes. The one check of "is this a DICOM file" for downloads.
bool is_part10(std::string_view body);
// Part 10, or a bare data set starting with a group 0002 or 0008 element
// (little endian), as some platforms serve.
bool looks_like_dicom(std::string_view body);
// An HTML page (after a UTF-8 BOM and white space, '<').
bool looks_like_html(std::string_view body);
bool matches(Expect expect, std::string_view body);
const char* expected_name(Expect expect);
// "HTML page", "JSON", "empty body" or "N bytes of other data".
std::string describe_body(std::string_view body);

} // namespace http
