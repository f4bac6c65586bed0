// SPDX-License-Identifier: GPL-3.0-or-later
// http's error codes (every Client failure carries one).
#pragma once

#include <system_error>

namespace http {

enum class Errc {
  connect_failed = 1, // DNS, refused, TLS
  timeout,            // connect, first byte, or stalled body (idle read)
  transfer_failed,    // reset, truncated body, bad chunking
  http_status,        // 4xx (not retried) or 5xx/429 after the retries
  unexpected_content, // e.g. an HTML page where DICOM or JSON was expected
  cancelled,
};

const std::error_category& error_category();
std::error_code make_error_code(Errc e);

} // namespace http

template <> struct std::is_error_code_enum<http::Errc> : std::true_type
{
};
