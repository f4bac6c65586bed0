// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <map>
#include <string>
#include <string_view>

// URL helpers of the HTTP client (implemented in url.cpp on libcurl's URL
// parser). Also included by client.hpp.
namespace http {

// application/x-www-form-urlencoded helpers.
std::string url_encode(const std::string& text);
// Percent-decoding (RFC 3986 2.1); '+' is a space when `plus_is_space`
// (query strings). A '%' not followed by two hex digits is kept.
std::string url_decode(std::string_view text, bool plus_is_space);
// Query parameters of `url` taken after its *last* '?' (cloud viewers hide
// them in the fragment: https://host/#/home?sid=..., platforms.md 2.2).
std::map<std::string, std::string> query_after_last_question_mark(const std::string& url);
// scheme://host[:port] of `url`.
std::string origin_of(const std::string& url);
// Resolve `ref` against `base` (RFC 3986).
std::string resolve_url(const std::string& base, const std::string& ref);
// Host name of `url`, lower-case.
std::string host_of(const std::string& url);

// `url` fit for a log line or an error message: the query and the fragment
// are dropped, and a Hinacom share path token "/t/<32 hex>" becomes
// "/t/<token>". Share capabilities travel there (shdc token=, sugh
// clinicalShareToken=, zscloud code=, szjudianyun c=<password>), and logs go
// to stderr and files others may read.
std::string redact_url(const std::string& url);
// Every http(s) URL inside `text` (an error line, a problem note) through
// redact_url: share links carry their capability in the query.
std::string redact_urls_in(const std::string& text);

// The protocols a transfer that started at `url` may be redirected to
// (CURLOPT_REDIR_PROTOCOLS_STR): "https" after an https URL, so that a
// platform cannot downgrade later requests and cookies to plain http;
// otherwise "http,https".
const char* redirect_protocols(const std::string& url);

} // namespace http
