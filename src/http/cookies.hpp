// SPDX-License-Identifier: GPL-3.0-or-later
// Reading a job's cookie jar: libcurl's Netscape-format cookie lines.
#pragma once

#include <ctime>
#include <optional>
#include <string>
#include <string_view>

namespace http {

// The value of cookie `name` in one Netscape cookie file line (domain, tail
// match, path, secure, expiry, name, value; tab-separated) if it applies to
// `host` (lower case) and has not expired at `now`.
std::optional<std::string> cookie_value(std::string_view line, const std::string& host,
                                        const std::string& name, std::time_t now);

} // namespace http
