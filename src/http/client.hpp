// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "content.hpp"
#include "errors.hpp"

#include <core/result.hpp>
#include <http/url.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

// HTTP(S) for the cloud-viewer modules, on libcurl. One Client per fetch
// job: it owns the job's cookie jar (cookies sent verbatim, matched by host
// and not port), follows redirects, keeps connections alive, bounds the
// requests in flight per host, retries what is worth retrying (timeouts,
// resets, truncated bodies, 5xx, 429 honouring Retry-After) with backoff,
// and checks that a response is what the caller expects. Thread-safe: many
// threads may call send() at once.
namespace http {

// Largest body accepted for `expect` when the request names none: 2 GiB for
// DICOM and image data (and any), 256 MiB for JSON and HTML. The limit is
// on the decoded body, so a gzip bomb stops there too.
std::uint64_t default_max_body(Expect expect);

struct Request
{
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers; // added to the defaults
  std::string body;
  Expect expect = Expect::any;
  // 0: the client's default. Total time for one try.
  std::chrono::seconds timeout{0};
  bool follow_redirects = true;
  // Idempotent requests are retried; a POST only when this is set.
  bool retry = true;
  // A larger (decoded) body fails the request with "response larger than N
  // bytes", not retried. 0: default_max_body(expect).
  std::uint64_t max_body_bytes = 0;
};

struct Response
{
  long status = 0;
  std::string url;                                 // after redirects
  std::multimap<std::string, std::string> headers; // names lower-case, last response only
  std::string body;

  // First value of a header (name lower-case), or "".
  std::string header(const std::string& name) const;
};

struct Options
{
  int max_per_host = 4;                      // requests in flight per host (polite default)
  int retries = 4;                           // extra tries after the first
  std::chrono::milliseconds backoff{500};    // doubled per retry, +-20 % jitter
  std::chrono::seconds max_retry_after{120}; // cap on a server's Retry-After
  std::chrono::seconds connect_timeout{15};
  std::chrono::seconds timeout{300};     // per try, whole transfer
  std::chrono::seconds idle_timeout{30}; // no byte received for this long: stalled
  std::string proxy;                     // "" = libcurl's environment (http_proxy...)
  std::string user_agent =
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/143.0";
  std::vector<std::pair<std::string, std::string>> default_headers = {
      {"Accept-Language", "zh,zh-CN;q=0.7,en;q=0.3"}, {"Accept", "*/*"}};
  // curl --resolve entries "host:port:address", so tests can point real
  // platform host names at loopback replicas.
  std::vector<std::string> resolve;
  // CA bundle used *instead of* the system's (CURLOPT_CAINFO replaces the
  // default bundle; tests point it at their own CA); "" = system.
  std::string ca_file;
};

// Counters for progress displays and benchmarks.
struct Stats
{
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> retries{0};
  std::atomic<std::uint64_t> bytes{0};
};

class Client
{
public:
  explicit Client(const Options& options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Perform `request` with retries. A 4xx is returned as an error at once
  // (detail: status and URL); 2xx/3xx (when not following) as a Response.
  core::Result<Response> send(const Request& request);

  // Cookie of the jar (for flows that need to read one), or "".
  std::string cookie(const std::string& host, const std::string& name) const;

  // From now on every send() fails with Errc::cancelled; in-flight
  // transfers are aborted promptly.
  void cancel();

  const Stats& stats() const;

private:
  class Impl;
  std::unique_ptr<Impl> m_impl;
};

} // namespace http
