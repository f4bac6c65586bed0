// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <atomic>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

// An in-process HTTP/1.1 server on loopback for tests, and the base of the
// platform replicas (platforms.md 8). Blocking Boost.Beast parsing, one
// thread per connection (bounded), keep-alive. Requests are dispatched
// through a route table to handler callbacks, logged, and can be broken on
// purpose by fault rules chosen per route and request number (8.2).
//
//   testutil::HttpServer server;
//   server.route("GET", "/api/*", [](const testutil::HttpRequest& r) {
//     return testutil::HttpResponse::json(R"({"code":0})");
//   });
//   server.fault("/api/*", testutil::Fault::status(503).on(testutil::Calls::nth(1)));
//   http::Request request;
//   request.url = server.url("/api/list");
//   client.send(request); // 503, then 200 on the retry
//
// Everything is thread-safe; handlers run on connection threads, several at
// once, and must be thread-safe themselves and return (stop() joins them).
// Plain HTTP only; no TLS.
namespace testutil {

// One request as received.
struct HttpRequest
{
  std::string method;
  std::string target; // as on the request line: path?query
  std::string path;
  std::string query;                                        // raw, without the '?'
  std::vector<std::pair<std::string, std::string>> headers; // names lower-case, in order
  std::string body;
  std::string route;  // pattern of the route that took it; "" if none did
  int number = 0;     // 1-based count of requests to that route, faults use it
  int connection = 0; // 1-based TCP connection id: equal ids = keep-alive
  std::chrono::steady_clock::time_point time;

  // First value of header `name` (any case), or "".
  std::string header(std::string_view name) const;
  // Cookie `name` exactly as the client sent it (no unquoting), or "".
  std::string cookie(std::string_view name) const;
  // Query parameter, form-decoded ('+' and %XX), or "".
  std::string param(std::string_view name) const;
  // Parameter of an application/x-www-form-urlencoded body, or "".
  std::string form(std::string_view name) const;
};

struct HttpResponse
{
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers; // repeated names allowed
  std::string body;
  bool gzip = false; // send the body gzip-compressed with Content-Encoding: gzip

  HttpResponse& header(std::string name, std::string value);

  static HttpResponse text(std::string body, int status = 200);
  static HttpResponse html(std::string body, int status = 200);
  static HttpResponse json(std::string body);
  static HttpResponse binary(std::string body,
                             std::string content_type = "application/octet-stream");
  // A redirect to `location`; add Set-Cookie with header().
  static HttpResponse redirect(std::string location, int status = 302);
};

using Handler = std::function<HttpResponse(const HttpRequest&)>;

// Which requests of a route a fault applies to: numbers first..last, every
// `step`-th from first ("the 3rd call", "every 5th", "calls 10-12").
struct Calls
{
  int first = 1;
  int last = INT_MAX;
  int step = 1;

  bool contains(int number) const;

  static Calls all();
  static Calls nth(int n);
  static Calls first_n(int n);
  static Calls range(int first, int last);
  static Calls every(int n); // n, 2n, 3n...
};

// A way to misbehave (platforms.md 8.2). Faults that replace the response
// (status, rate_limit, soft_error_html, reset) skip the handler; the others
// change what the handler returned. Several faults may hit one request.
struct Fault
{
  enum class Kind {
    status,           // small HTML error page with `status`
    rate_limit,       // `status` (429 or 503) with optional Retry-After
    delay_first_byte, // sleep `delay` before sending anything
    drip,             // body at `bytes` per second
    stall_after,      // send `bytes` of the body, then hold the socket open
    truncate,         // full Content-Length, `bytes` of the body, close
    truncate_chunked, // chunked, `bytes` of the body, no last chunk, close
    reset,            // TCP RST after `bytes` of the body (0: instead of a response)
    soft_error_html,  // 200 with an HTML login page
    short_object,     // body cut to `bytes`, with a matching Content-Length
    wrong_type,       // Content-Type replaced by `text`
    gzip,             // Content-Encoding: gzip
  };

  Kind kind = Kind::status;
  Calls calls;
  int status = 500;
  std::optional<std::string> retry_after; // header value, for rate_limit
  std::chrono::milliseconds delay{0};
  std::size_t bytes = 0;
  std::string text;

  Fault& on(Calls which)
  {
    calls = which;
    return *this;
  }

  static Fault http_status(int status);
  static Fault rate_limit(std::optional<std::string> retry_after, int status = 429);
  static Fault delay_first_byte(std::chrono::milliseconds delay);
  static Fault drip(std::size_t bytes_per_second);
  static Fault stall_after(std::size_t bytes);
  static Fault truncate(std::size_t bytes);
  static Fault truncate_chunked(std::size_t bytes);
  static Fault reset(std::size_t after_body_bytes = 0);
  static Fault soft_error_html();
  static Fault short_object(std::size_t bytes);
  static Fault wrong_type(std::string content_type);
  static Fault gzip();
};

struct HttpServerOptions
{
  std::string address = "127.0.0.1";
  unsigned short port = 0;            // 0: any free port
  int max_connections = 64;           // more wait in the listen backlog
  std::chrono::seconds max_stall{30}; // stall_after gives up after this
};

class HttpServer
{
public:
  // Listens at once; throws std::runtime_error if it cannot.
  explicit HttpServer(HttpServerOptions options = {});
  // stop().
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Close the listener and every connection (stalled ones too), join all
  // threads. Idempotent.
  void stop();

  unsigned short port() const;
  // "http://127.0.0.1:<port>"
  std::string origin() const;
  // origin() + `target` ("/path?query").
  std::string url(std::string_view target) const;

  // Requests with `method` ("*" for any) whose path equals `pattern`, or
  // starts with it when it ends in '*' ("/dicom/*"). An exact pattern wins,
  // then the longest prefix. Unrouted requests get 404. Replaces an earlier
  // route with the same method and pattern.
  void route(std::string method, std::string pattern, Handler handler);

  // Adds a fault rule for requests taken by route `pattern` (any method).
  // Request numbers count per pattern, all methods together, from the start
  // or the last reset(); a request no route takes counts under "".
  void fault(const std::string& pattern, Fault fault);
  void clear_faults();
  // Forget the log, the per-route counters, the faults and the peak; keep routes.
  void reset();

  std::vector<HttpRequest> requests() const;
  std::vector<HttpRequest> requests(std::string_view pattern) const; // of one route
  int count(std::string_view pattern) const;
  // Most requests handled at the same time (from the end of the request to
  // the end of the response) since start or reset().
  int peak_in_flight() const;
  // TCP connections accepted so far.
  int connections() const;

private:
  struct Route
  {
    std::string method;
    std::string pattern;
    Handler handler;
  };
  struct Conn;

  void accept_loop();
  void serve(Conn& conn);
  const Route* find_route(const std::string& method, const std::string& path) const;
  std::vector<Fault> faults_for(const std::string& pattern, int number) const;
  bool sleep_while_running(std::chrono::milliseconds delay) const;

  HttpServerOptions m_options;
  int m_listen_fd = -1;
  unsigned short m_port = 0;
  std::atomic<bool> m_stopping{false};
  std::thread m_acceptor;

  mutable std::mutex m_mutex; // guards everything below
  std::condition_variable m_conn_done;
  std::list<std::unique_ptr<Conn>> m_conns;
  int m_conn_count = 0;
  std::vector<Route> m_routes;
  std::map<std::string, std::vector<Fault>> m_faults;
  std::map<std::string, int> m_counts;
  std::vector<HttpRequest> m_log;
  int m_in_flight = 0;
  int m_peak = 0;
};

} // namespace testutil
