// SPDX-License-Identifier: GPL-3.0-or-later
// When a failed transfer is tried again, and how long to wait: the client's
// retry policy (internal to http/; it speaks libcurl's codes).
#pragma once

#include "errors.hpp"

#include <curl/curl.h>

#include <chrono>
#include <optional>
#include <string>

namespace http {

// What a failed libcurl transfer means for the caller, and whether another
// try may help.
struct Failure
{
  Errc code;
  bool retryable;
};

Failure classify(CURLcode rc);

// Retry-After (RFC 9110 10.2.3): delay-seconds or an HTTP-date.
std::optional<std::chrono::seconds> parse_retry_after(const std::string& text);

// base * 2^(failed_tries - 1), capped, with +-20 % jitter.
std::chrono::milliseconds backoff_delay(std::chrono::milliseconds base, int failed_tries,
                                        std::chrono::milliseconds cap);

} // namespace http
