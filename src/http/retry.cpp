// SPDX-License-Identifier: GPL-3.0-or-later
#include "retry.hpp"

#include <core/strings.hpp>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <random>

namespace http {

Failure
classify(CURLcode rc)
{
  switch (rc) {
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_RESOLVE_PROXY:
  case CURLE_COULDNT_CONNECT:
    return {Errc::connect_failed, true};
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CIPHER:
  case CURLE_SSL_ISSUER_ERROR:
  case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
  case CURLE_SSL_INVALIDCERTSTATUS:
  case CURLE_SSL_CRL_BADFILE:
  case CURLE_UNSUPPORTED_PROTOCOL:
  case CURLE_URL_MALFORMAT:
    return {Errc::connect_failed, false};
  case CURLE_OPERATION_TIMEDOUT:
    return {Errc::timeout, true};
  case CURLE_RECV_ERROR:   // reset
  case CURLE_SEND_ERROR:   // reset while sending the request
  case CURLE_PARTIAL_FILE: // fewer bytes than Content-Length, or no last chunk
  case CURLE_GOT_NOTHING:  // closed before any response
  case CURLE_BAD_CONTENT_ENCODING:
  case CURLE_HTTP2:
  case CURLE_HTTP2_STREAM:
  case CURLE_SSL_SHUTDOWN_FAILED:
  case CURLE_WEIRD_SERVER_REPLY: // includes bad chunk framing
    return {Errc::transfer_failed, true};
  case CURLE_ABORTED_BY_CALLBACK:
    return {Errc::cancelled, false};
  default:
    return {Errc::transfer_failed, false};
  }
}

std::optional<std::chrono::seconds>
parse_retry_after(const std::string& text)
{
  const std::string value(core::trim(text));
  if (value.empty()) {
    return std::nullopt;
  }
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::chrono::seconds(std::stoll(value.substr(0, 12)));
  }
  const std::time_t when = curl_getdate(value.c_str(), nullptr);
  if (when == -1) {
    return std::nullopt;
  }
  return std::chrono::seconds(std::max<std::time_t>(0, when - std::time(nullptr)));
}

std::chrono::milliseconds
backoff_delay(std::chrono::milliseconds base, int failed_tries, std::chrono::milliseconds cap)
{
  static thread_local std::mt19937 rng{std::random_device{}()};
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  const double ms =
      static_cast<double>(base.count()) * std::pow(2.0, std::max(0, failed_tries - 1));
  return std::chrono::milliseconds(
      static_cast<long long>(std::min(ms, static_cast<double>(cap.count())) * jitter(rng)));
}

} // namespace http
