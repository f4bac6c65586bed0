// SPDX-License-Identifier: GPL-3.0-or-later
// Over 600 lines on purpose: one concern, the libcurl pool, per-host throttle and perform
// loop; retry timing, content checks and cookie lines live beside it (retry, content, cookies).
#include "client.hpp"

#include "content.hpp"
#include "cookies.hpp"
#include "global.hpp"
#include "retry.hpp"

#include <core/log.hpp>
#include <core/strings.hpp>

#include <curl/curl.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <ctime>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <string_view>
#include <vector>

namespace http {

namespace {

constexpr const char* k_log = "http";
constexpr int k_connect_retries = 2; // refused or unresolvable: retried at most this often
constexpr long k_max_redirects = 10;
constexpr long k_connections_per_handle = 4; // idle connections each pooled handle keeps
constexpr int k_poll_ms = 1000;              // curl_multi_wakeup() ends a poll early

std::string
trim(const std::string& text)
{
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) {
    return {};
  }
  return text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1);
}

// Spaces, control characters and non-ASCII bytes as %XX, as browsers send
// links found in HTML; libcurl refuses a URL with a raw space. Existing
// escapes are left alone.
std::string
escape_unsafe(const std::string& url)
{
  static const char k_hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(url.size());
  for (const char c : url) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte >= 0x7F) {
      out += '%';
      out += k_hex[byte >> 4];
      out += k_hex[byte & 0x0F];
    } else {
      out += c;
    }
  }
  return out;
}

// What the callbacks of one transfer fill in. All on the sending thread.
// The callbacks are called from libcurl's C code: nothing may throw out of
// them, so a failure is noted here and the transfer aborted.
struct Transfer
{
  Response response;
  std::uint64_t max_body = 0;
  bool too_large = false;     // on_body refused more than max_body bytes
  std::string callback_error; // an exception caught in a callback
  std::atomic<std::uint64_t>* bytes = nullptr;
  const std::atomic<bool>* cancelled = nullptr;
  // Set once a request is on its way (connected, TLS done), refreshed by
  // every byte in or out: what the idle timeout measures.
  std::optional<std::chrono::steady_clock::time_point> last_activity;
  curl_off_t uploaded = 0;
};

// Returning less than size * count makes libcurl fail with CURLE_WRITE_ERROR.
std::size_t
on_body(char* data, std::size_t size, std::size_t count, void* user) noexcept
{
  auto* transfer = static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  if (n > transfer->max_body || transfer->response.body.size() > transfer->max_body - n) {
    transfer->too_large = true;
    return 0;
  }
  try {
    transfer->response.body.append(data, n);
  } catch (const std::exception& e) {
    transfer->callback_error = e.what();
    return 0;
  }
  *transfer->bytes += n;
  transfer->last_activity = std::chrono::steady_clock::now();
  return n;
}

// Called once per header line, for every response of the transfer
// (redirects, 100 Continue, trailers): a status line starts a new set.
std::size_t
on_header(char* data, std::size_t size, std::size_t count, void* user) noexcept
{
  auto* transfer = static_cast<Transfer*>(user);
  transfer->last_activity = std::chrono::steady_clock::now();
  try {
    const std::string line(data, size * count);
    if (line.compare(0, 5, "HTTP/") == 0) {
      transfer->response.headers.clear();
    } else if (const auto colon = line.find(':'); colon != std::string::npos && colon > 0) {
      transfer->response.headers.emplace(core::to_lower_ascii(trim(line.substr(0, colon))),
                                         trim(line.substr(colon + 1)));
    }
  } catch (const std::exception& e) {
    transfer->callback_error = e.what();
    return 0;
  }
  return size * count;
}

int
on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t uploaded) noexcept
{
  auto* transfer = static_cast<Transfer*>(user);
  if (uploaded != transfer->uploaded) {
    transfer->uploaded = uploaded;
    transfer->last_activity = std::chrono::steady_clock::now();
  }
  return transfer->cancelled->load() ? 1 : 0;
}

// Connected, about to send a request (also after each redirect).
int
on_request_ready(void* user, char*, char*, int, int) noexcept
{
  static_cast<Transfer*>(user)->last_activity = std::chrono::steady_clock::now();
  return CURL_PREREQFUNC_OK;
}

// A pooled easy handle and the multi handle it runs in. The multi handle
// owns the connection cache, so a Conn reused for the same host reuses its
// connection; curl_multi_wakeup() lets cancel() interrupt a wait. libcurl's
// shared connection cache (CURL_LOCK_DATA_CONNECT) is not used: it is not
// thread-safe (libcurl KNOWN_BUGS "A shared connection cache is not
// thread-safe", curl issues #4915, #13840).
struct Conn
{
  CURL* easy = nullptr;
  CURLM* multi = nullptr;
  std::string host; // of the last request, to prefer a warm connection
  char error[CURL_ERROR_SIZE] = {};
  bool cookie_engine = false; // CURLOPT_COOKIEFILE "" was set

  explicit Conn(CURLSH* share) : easy(curl_easy_init()), multi(curl_multi_init())
  {
    if (easy == nullptr || multi == nullptr) {
      curl_easy_cleanup(easy); // both accept null
      curl_multi_cleanup(multi);
      throw std::runtime_error("libcurl: cannot create a handle");
    }
    curl_easy_setopt(easy, CURLOPT_SHARE, share);
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, k_connections_per_handle);
  }
  ~Conn()
  {
    if (multi != nullptr) {
      curl_multi_cleanup(multi);
    }
    if (easy != nullptr) {
      curl_easy_cleanup(easy);
    }
  }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;
};

// One try's result: a response to return, or an error and how to go on.
struct Outcome
{
  std::optional<Response> response;
  core::Error error;
  bool retryable = false;
  std::optional<std::chrono::seconds> retry_after;
};

} // namespace

std::uint64_t
default_max_body(Expect expect)
{
  constexpr std::uint64_t k_mib = 1024 * 1024;
  switch (expect) {
  case Expect::json:
  case Expect::html:
    return 256 * k_mib;
  case Expect::any:
  case Expect::dicom:
  case Expect::jpeg2000_or_raw:
    break;
  }
  return 2048 * k_mib;
}

void
global_init()
{
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      throw std::runtime_error("libcurl initialisation failed");
    }
  });
}

std::string
Response::header(const std::string& name) const
{
  const auto key = core::to_lower_ascii(name);
  const auto it = headers.lower_bound(key); // the first of repeated headers
  return it == headers.end() || it->first != key ? std::string() : it->second;
}

class Client::Impl
{
public:
  explicit Impl(const Options& options);
  ~Impl();

  core::Result<Response> send(const Request& request);
  std::string cookie(const std::string& host, const std::string& name) const;
  void cancel();

  Stats stats;

private:
  Outcome attempt(const Request& request, const std::string& url, const std::string& host);
  Outcome perform(Conn& conn, const Request& request, const std::string& url);
  void configure(Conn& conn, const Request& request, const std::string& url, Transfer& transfer,
                 curl_slist* headers);
  curl_slist* header_list(const Request& request) const;

  bool acquire(const std::string& host);
  void release(const std::string& host);
  std::unique_ptr<Conn> take_conn(const std::string& host);
  void give_back(std::unique_ptr<Conn> conn);
  bool sleep_for(std::chrono::milliseconds delay);
  core::Error cancelled_error(const std::string& url) const;

  // noexcept: a failing mutex ends the process rather than unwinding
  // through libcurl.
  static void lock(CURL*, curl_lock_data data, curl_lock_access, void* user) noexcept;
  static void unlock(CURL*, curl_lock_data data, void* user) noexcept;

  const Options m_options;
  std::array<std::mutex, CURL_LOCK_DATA_LAST> m_share_locks;
  CURLSH* m_share = nullptr;
  curl_slist* m_resolve = nullptr;
  std::atomic<bool> m_cancelled{false};

  // Guards the host counts and the handle pool; m_changed wakes threads
  // waiting for a slot or sleeping before a retry.
  std::mutex m_mutex;
  std::condition_variable m_changed;
  std::map<std::string, int> m_in_flight; // per host
  std::vector<std::unique_ptr<Conn>> m_idle;
  std::vector<Conn*> m_busy;

  mutable std::mutex m_jar_mutex;
  CURL* m_jar = nullptr; // only for reading the shared cookie jar
};

Client::Impl::Impl(const Options& options) : m_options(options)
{
  global_init();
  m_share = curl_share_init();
  if (m_share == nullptr) {
    throw std::runtime_error("libcurl: cannot create a share handle");
  }
  curl_share_setopt(m_share, CURLSHOPT_LOCKFUNC, &Impl::lock);
  curl_share_setopt(m_share, CURLSHOPT_UNLOCKFUNC, &Impl::unlock);
  curl_share_setopt(m_share, CURLSHOPT_USERDATA, this);
  curl_share_setopt(m_share, CURLSHOPT_SHARE, CURL_LOCK_DATA_COOKIE);
  curl_share_setopt(m_share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
  curl_share_setopt(m_share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  for (const auto& entry : m_options.resolve) {
    m_resolve = curl_slist_append(m_resolve, entry.c_str());
  }
  m_jar = curl_easy_init();
  if (m_jar == nullptr) {
    curl_share_cleanup(m_share);
    throw std::runtime_error("libcurl: cannot create a handle");
  }
  curl_easy_setopt(m_jar, CURLOPT_SHARE, m_share);
}

Client::Impl::~Impl()
{
  m_idle.clear(); // sends still running here would be a bug of the owner
  curl_easy_cleanup(m_jar);
  curl_share_cleanup(m_share);
  curl_slist_free_all(m_resolve);
}

void
Client::Impl::lock(CURL*, curl_lock_data data, curl_lock_access, void* user) noexcept
{
  auto& locks = static_cast<Impl*>(user)->m_share_locks;
  if (static_cast<std::size_t>(data) < locks.size()) {
    locks[static_cast<std::size_t>(data)].lock();
  }
}

void
Client::Impl::unlock(CURL*, curl_lock_data data, void* user) noexcept
{
  auto& locks = static_cast<Impl*>(user)->m_share_locks;
  if (static_cast<std::size_t>(data) < locks.size()) {
    locks[static_cast<std::size_t>(data)].unlock();
  }
}

core::Result<Response>
Client::Impl::send(const Request& request)
{
  ++stats.requests;
  const std::string url = escape_unsafe(request.url);
  if (m_cancelled) {
    return cancelled_error(url);
  }
  const std::string host = host_of(url);
  const int tries = request.retry ? 1 + std::max(0, m_options.retries) : 1;
  const auto cap = std::chrono::duration_cast<std::chrono::milliseconds>(m_options.max_retry_after);
  int connect_failures = 0;
  for (int n = 1;; ++n) {
    Outcome outcome = attempt(request, url, host);
    if (outcome.response) {
      return std::move(*outcome.response);
    }
    if (outcome.error.code == Errc::connect_failed) {
      ++connect_failures;
    }
    if (!outcome.retryable || n >= tries || connect_failures > k_connect_retries) {
      if (n > 1) {
        outcome.error.detail += " (after " + std::to_string(n) + " tries)";
      }
      return outcome.error;
    }
    const auto delay = outcome.retry_after
                           ? std::min<std::chrono::milliseconds>(*outcome.retry_after, cap)
                           : backoff_delay(m_options.backoff, n, cap);
    CF_LOG(info, k_log,
           "retry " << n << "/" << tries - 1 << " in " << delay.count()
                    << " ms: " << outcome.error.message());
    ++stats.retries;
    if (!sleep_for(delay)) {
      return cancelled_error(url);
    }
  }
}

Outcome
Client::Impl::attempt(const Request& request, const std::string& url, const std::string& host)
{
  if (!acquire(host)) {
    return Outcome{std::nullopt, cancelled_error(url), false, std::nullopt};
  }
  auto conn = take_conn(host);
  Outcome outcome = perform(*conn, request, url);
  give_back(std::move(conn));
  release(host);
  return outcome;
}

Outcome
Client::Impl::perform(Conn& conn, const Request& request, const std::string& url)
{
  Transfer transfer;
  transfer.max_body =
      request.max_body_bytes != 0 ? request.max_body_bytes : default_max_body(request.expect);
  transfer.bytes = &stats.bytes;
  transfer.cancelled = &m_cancelled;
  curl_slist* headers = header_list(request);
  configure(conn, request, url, transfer, headers);

  using Clock = std::chrono::steady_clock;
  const auto idle = std::chrono::duration_cast<Clock::duration>(m_options.idle_timeout);
  bool stalled = false;
  CURLcode result = CURLE_OK;
  if (curl_multi_add_handle(conn.multi, conn.easy) != CURLM_OK) {
    result = CURLE_OUT_OF_MEMORY;
  } else {
    int running = 1;
    while (true) {
      if (curl_multi_perform(conn.multi, &running) != CURLM_OK) {
        result = CURLE_OUT_OF_MEMORY;
        break;
      }
      if (running == 0) {
        int queued = 0;
        while (const CURLMsg* msg = curl_multi_info_read(conn.multi, &queued)) {
          if (msg->msg == CURLMSG_DONE && msg->easy_handle == conn.easy) {
            result = msg->data.result;
          }
        }
        break;
      }
      if (m_cancelled) {
        result = CURLE_ABORTED_BY_CALLBACK; // removing the handle closes the connection
        break;
      }
      auto wait = std::chrono::milliseconds(k_poll_ms);
      if (idle.count() > 0 && transfer.last_activity) {
        const auto quiet = Clock::now() - *transfer.last_activity;
        if (quiet >= idle) {
          stalled = true;
          result = CURLE_OPERATION_TIMEDOUT;
          break;
        }
        wait = std::min(wait, std::chrono::duration_cast<std::chrono::milliseconds>(idle - quiet)
                                  + std::chrono::milliseconds(1));
      }
      curl_multi_poll(conn.multi, nullptr, 0, static_cast<int>(wait.count()), nullptr);
    }
    curl_multi_remove_handle(conn.multi, conn.easy);
  }
  curl_slist_free_all(headers);

  Response& response = transfer.response;
  char* effective = nullptr;
  curl_easy_getinfo(conn.easy, CURLINFO_EFFECTIVE_URL, &effective);
  response.url = effective != nullptr ? effective : url;
  curl_easy_getinfo(conn.easy, CURLINFO_RESPONSE_CODE, &response.status);
  // Error details end up in logs: no query, fragment or path token (S12).
  const std::string shown = redact_url(response.url);

  Outcome outcome;
  if (m_cancelled) {
    outcome.error = cancelled_error(response.url);
    return outcome;
  }
  if (transfer.too_large || result == CURLE_FILESIZE_EXCEEDED) {
    // Not retried: the next try would be as large.
    outcome.error = core::make_error(Errc::transfer_failed, "response larger than "
                                                                + std::to_string(transfer.max_body)
                                                                + " bytes from " + shown);
    return outcome;
  }
  if (!transfer.callback_error.empty()) {
    outcome.error = core::make_error(Errc::transfer_failed,
                                     transfer.callback_error + " while receiving " + shown);
    return outcome;
  }
  if (result != CURLE_OK) {
    const auto failure = classify(result);
    std::string what = conn.error[0] != '\0' ? conn.error : curl_easy_strerror(result);
    if (stalled) {
      what = "No data received in " + std::to_string(m_options.idle_timeout.count()) + " s";
    }
    outcome.error = core::make_error(failure.code, what + " for " + shown);
    outcome.retryable = failure.retryable;
    return outcome;
  }
  const long status = response.status;
  if (status == 429 || status >= 500) {
    outcome.error =
        core::make_error(Errc::http_status, "HTTP " + std::to_string(status) + " for " + shown);
    outcome.retryable = true;
    outcome.retry_after = parse_retry_after(response.header("retry-after"));
    return outcome;
  }
  if (status >= 400) {
    outcome.error =
        core::make_error(Errc::http_status, "HTTP " + std::to_string(status) + " for " + shown);
    return outcome;
  }
  if (status >= 200 && status < 300 && !matches(request.expect, response.body)) {
    outcome.error = core::make_error(Errc::unexpected_content,
                                     describe_body(response.body) + " instead of "
                                         + expected_name(request.expect) + " from " + shown);
    outcome.retryable = true;
    return outcome;
  }
  outcome.response = std::move(response);
  return outcome;
}

curl_slist*
Client::Impl::header_list(const Request& request) const
{
  std::vector<std::pair<std::string, std::string>> merged;
  for (const auto& header : m_options.default_headers) {
    const bool replaced =
        std::any_of(request.headers.begin(), request.headers.end(),
                    [&](const auto& own) { return core::iequals_ascii(own.first, header.first); });
    if (!replaced) {
      merged.push_back(header);
    }
  }
  merged.insert(merged.end(), request.headers.begin(), request.headers.end());

  curl_slist* list = nullptr;
  for (const auto& [name, value] : merged) {
    // "Name;" is libcurl's spelling of an empty header; "Name:" would remove it.
    const std::string line = value.empty() ? name + ";" : name + ": " + value;
    list = curl_slist_append(list, line.c_str());
  }
  const bool has_expect = std::any_of(merged.begin(), merged.end(), [](const auto& header) {
    return core::iequals_ascii(header.first, "Expect");
  });
  if (!has_expect) {
    list = curl_slist_append(list, "Expect:"); // no "Expect: 100-continue" wait on POST
  }
  return list;
}

void
Client::Impl::configure(Conn& conn, const Request& request, const std::string& url,
                        Transfer& transfer, curl_slist* headers)
{
  CURL* easy = conn.easy;
  curl_easy_reset(easy); // keeps the share, the connections and the DNS cache
  conn.error[0] = '\0';
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, conn.error);
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, redirect_protocols(url));

  if (request.method == "GET") {
    curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
  } else if (request.method == "HEAD") {
    curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
  } else if (request.method == "POST") {
    // Not CURLOPT_CUSTOMREQUEST: it would keep POST across a 302/303.
    curl_easy_setopt(easy, CURLOPT_POST, 1L);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, request.body.data());
  } else {
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    if (!request.body.empty()) {
      curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(request.body.size()));
      curl_easy_setopt(easy, CURLOPT_POSTFIELDS, request.body.data());
    }
  }
  if (!request.retry) {
    // libcurl silently sends a request again on a new connection when a
    // reused one closes before any response byte, POSTs too; a fresh
    // connection makes "no retry" true on the wire.
    curl_easy_setopt(easy, CURLOPT_FRESH_CONNECT, 1L);
  }
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(easy, CURLOPT_USERAGENT, m_options.user_agent.c_str());
  curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, ""); // all built-in decoders
  // A Content-Length above the cap fails before any byte is read; on_body
  // holds the decoded body to the same cap (bombs, chunked bodies).
  curl_easy_setopt(easy, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(transfer.max_body));
  curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, request.follow_redirects ? 1L : 0L);
  curl_easy_setopt(easy, CURLOPT_MAXREDIRS, k_max_redirects);
  if (!conn.cookie_engine) {
    // Cookie engine on; the jar is the share's. Once per handle: the engine
    // survives curl_easy_reset, and each further "" was a list node libcurl
    // never freed (LeakSanitizer).
    curl_easy_setopt(easy, CURLOPT_COOKIEFILE, "");
    conn.cookie_engine = true;
  }

  using std::chrono::milliseconds;
  const auto timeout = request.timeout.count() > 0 ? request.timeout : m_options.timeout;
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(milliseconds(m_options.connect_timeout).count()));
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(milliseconds(timeout).count()));
  // The idle timeout is checked by perform(), not with CURLOPT_LOW_SPEED_TIME:
  // libcurl compares that with a speed averaged over the last ~5 s, so a
  // stall right after a burst is noticed only after 5 s or more.
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);

  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &on_body);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &on_header);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, &on_progress);
  curl_easy_setopt(easy, CURLOPT_XFERINFODATA, &transfer);
  curl_easy_setopt(easy, CURLOPT_PREREQFUNCTION, &on_request_ready);
  curl_easy_setopt(easy, CURLOPT_PREREQDATA, &transfer);

  if (m_resolve != nullptr) {
    curl_easy_setopt(easy, CURLOPT_RESOLVE, m_resolve);
  }
  if (!m_options.proxy.empty()) {
    curl_easy_setopt(easy, CURLOPT_PROXY, m_options.proxy.c_str());
  }
  if (!m_options.ca_file.empty()) {
    curl_easy_setopt(easy, CURLOPT_CAINFO, m_options.ca_file.c_str());
  }
}

bool
Client::Impl::acquire(const std::string& host)
{
  const int limit = std::max(1, m_options.max_per_host);
  std::unique_lock lock(m_mutex);
  m_changed.wait(lock, [&] { return m_cancelled || m_in_flight[host] < limit; });
  if (m_cancelled) {
    return false;
  }
  ++m_in_flight[host];
  return true;
}

void
Client::Impl::release(const std::string& host)
{
  {
    std::lock_guard lock(m_mutex);
    if (--m_in_flight[host] == 0) {
      m_in_flight.erase(host);
    }
  }
  m_changed.notify_all();
}

std::unique_ptr<Conn>
Client::Impl::take_conn(const std::string& host)
{
  std::unique_ptr<Conn> conn;
  {
    std::lock_guard lock(m_mutex);
    if (!m_idle.empty()) {
      auto it = std::find_if(m_idle.begin(), m_idle.end(),
                             [&](const auto& idle) { return idle->host == host; });
      if (it == m_idle.end()) {
        it = std::prev(m_idle.end());
      }
      conn = std::move(*it);
      m_idle.erase(it);
    }
  }
  if (!conn) {
    conn = std::make_unique<Conn>(m_share);
  }
  conn->host = host;
  std::lock_guard lock(m_mutex);
  m_busy.push_back(conn.get());
  return conn;
}

void
Client::Impl::give_back(std::unique_ptr<Conn> conn)
{
  std::lock_guard lock(m_mutex);
  m_busy.erase(std::find(m_busy.begin(), m_busy.end(), conn.get()));
  m_idle.push_back(std::move(conn));
}

bool
Client::Impl::sleep_for(std::chrono::milliseconds delay)
{
  std::unique_lock lock(m_mutex);
  return !m_changed.wait_for(lock, delay, [&] { return m_cancelled.load(); });
}

void
Client::Impl::cancel()
{
  {
    std::lock_guard lock(m_mutex);
    m_cancelled = true;
    for (Conn* conn : m_busy) {
      curl_multi_wakeup(conn->multi);
    }
  }
  m_changed.notify_all();
}

core::Error
Client::Impl::cancelled_error(const std::string& url) const
{
  return core::make_error(Errc::cancelled, "request for " + redact_url(url));
}

std::string
Client::Impl::cookie(const std::string& host, const std::string& name) const
{
  const std::string wanted_host = core::to_lower_ascii(host);
  curl_slist* list = nullptr;
  {
    std::lock_guard lock(m_jar_mutex);
    if (curl_easy_getinfo(m_jar, CURLINFO_COOKIELIST, &list) != CURLE_OK) {
      return {};
    }
  }
  std::string found;
  const auto now = std::time(nullptr);
  for (const curl_slist* item = list; item != nullptr; item = item->next) {
    if (auto value = cookie_value(item->data, wanted_host, name, now)) {
      found = *value;
      break;
    }
  }
  curl_slist_free_all(list);
  return found;
}

Client::Client(const Options& options) : m_impl(std::make_unique<Impl>(options)) {}

Client::~Client() = default;

core::Result<Response>
Client::send(const Request& request)
{
  return m_impl->send(request);
}

std::string
Client::cookie(const std::string& host, const std::string& name) const
{
  return m_impl->cookie(host, name);
}

void
Client::cancel()
{
  m_impl->cancel();
}

const Stats&
Client::stats() const
{
  return m_impl->stats;
}

} // namespace http
