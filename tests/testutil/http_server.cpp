// SPDX-License-Identifier: GPL-3.0-or-later
#include "http_server.hpp"

#include <arpa/inet.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/zlib/deflate_stream.hpp>
#include <boost/crc.hpp>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <stdexcept>

namespace testutil {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

namespace {

constexpr std::size_t k_body_limit = 256 * 1024 * 1024;
constexpr auto k_slice = std::chrono::milliseconds(20); // granularity of sleeps and polls

std::string
lower(std::string_view text)
{
  std::string out(text);
  for (auto& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

int
hex_value(char c)
{
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

std::string
form_decode(std::string_view text)
{
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0
               && hex_value(text[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

// Value of `name` in "a=1&b=2", form-decoded; "" if absent.
std::string
form_value(std::string_view pairs, std::string_view name)
{
  while (!pairs.empty()) {
    const auto amp = pairs.find('&');
    const auto pair = pairs.substr(0, amp);
    pairs = amp == std::string_view::npos ? std::string_view() : pairs.substr(amp + 1);
    const auto equals = pair.find('=');
    if (form_decode(pair.substr(0, equals)) == name) {
      return equals == std::string_view::npos ? std::string()
                                              : form_decode(pair.substr(equals + 1));
    }
  }
  return {};
}

// RFC 1952 member: header, raw deflate, CRC-32, input size.
std::string
gzip(const std::string& data)
{
  std::string out("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", 10);
  beast::zlib::deflate_stream deflate;
  beast::zlib::z_params zs;
  zs.next_in = data.data();
  zs.avail_in = data.size();
  char chunk[16384];
  while (true) {
    zs.next_out = chunk;
    zs.avail_out = sizeof(chunk);
    beast::error_code ec;
    deflate.write(zs, beast::zlib::Flush::finish, ec);
    out.append(chunk, sizeof(chunk) - zs.avail_out);
    if (ec == beast::zlib::error::end_of_stream) {
      break;
    }
    if (ec && ec != beast::zlib::error::need_buffers) {
      throw std::runtime_error("deflate failed: " + ec.message());
    }
  }
  boost::crc_32_type crc;
  crc.process_bytes(data.data(), data.size());
  const auto put32 = [&out](std::uint32_t v) {
    for (int i = 0; i < 4; ++i) {
      out += static_cast<char>((v >> (8 * i)) & 0xFF);
    }
  };
  put32(crc.checksum());
  put32(static_cast<std::uint32_t>(data.size()));
  return out;
}

std::string
reason(int status)
{
  const auto text = bhttp::obsolete_reason(static_cast<bhttp::status>(status));
  return std::string(text.data(), text.size());
}

HttpResponse
error_page(int status)
{
  const std::string line = std::to_string(status) + " " + reason(status);
  return HttpResponse::html("<html><head><title>" + line + "</title></head><body><h1>" + line
                                + "</h1></body></html>\n",
                            status);
}

bool
write_all(asio::ip::tcp::socket& socket, std::string_view bytes)
{
  beast::error_code ec;
  asio::write(socket, asio::buffer(bytes.data(), bytes.size()), ec);
  return !ec;
}

// Abortive close: the peer sees ECONNRESET.
void
reset_connection(asio::ip::tcp::socket& socket)
{
  beast::error_code ec;
  socket.set_option(asio::socket_base::linger(true, 0), ec);
  socket.close(ec);
}

} // namespace

std::string
HttpRequest::header(std::string_view name) const
{
  const auto wanted = lower(name);
  for (const auto& [key, value] : headers) {
    if (key == wanted) {
      return value;
    }
  }
  return {};
}

std::string
HttpRequest::cookie(std::string_view name) const
{
  std::string_view cookies;
  const std::string all = header("cookie");
  cookies = all;
  while (!cookies.empty()) {
    const auto semi = cookies.find(';');
    auto pair = cookies.substr(0, semi);
    cookies = semi == std::string_view::npos ? std::string_view() : cookies.substr(semi + 1);
    while (!pair.empty() && pair.front() == ' ') {
      pair.remove_prefix(1);
    }
    const auto equals = pair.find('=');
    if (equals != std::string_view::npos && pair.substr(0, equals) == name) {
      return std::string(pair.substr(equals + 1));
    }
  }
  return {};
}

std::string
HttpRequest::param(std::string_view name) const
{
  return form_value(query, name);
}

std::string
HttpRequest::form(std::string_view name) const
{
  return form_value(body, name);
}

HttpResponse&
HttpResponse::header(std::string name, std::string value)
{
  headers.emplace_back(std::move(name), std::move(value));
  return *this;
}

HttpResponse
HttpResponse::text(std::string body, int status)
{
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r.header("Content-Type", "text/plain; charset=utf-8");
}

HttpResponse
HttpResponse::html(std::string body, int status)
{
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r.header("Content-Type", "text/html; charset=utf-8");
}

HttpResponse
HttpResponse::json(std::string body)
{
  HttpResponse r;
  r.body = std::move(body);
  return r.header("Content-Type", "application/json; charset=utf-8");
}

HttpResponse
HttpResponse::binary(std::string body, std::string content_type)
{
  HttpResponse r;
  r.body = std::move(body);
  return r.header("Content-Type", std::move(content_type));
}

HttpResponse
HttpResponse::redirect(std::string location, int status)
{
  HttpResponse r;
  r.status = status;
  return r.header("Location", std::move(location));
}

bool
Calls::contains(int number) const
{
  return number >= first && number <= last && (number - first) % std::max(1, step) == 0;
}

Calls
Calls::all()
{
  return {};
}

Calls
Calls::nth(int n)
{
  return {n, n, 1};
}

Calls
Calls::first_n(int n)
{
  return {1, n, 1};
}

Calls
Calls::range(int first, int last)
{
  return {first, last, 1};
}

Calls
Calls::every(int n)
{
  return {n, INT_MAX, n};
}

Fault
Fault::http_status(int status)
{
  Fault f;
  f.kind = Kind::status;
  f.status = status;
  return f;
}

Fault
Fault::rate_limit(std::optional<std::string> retry_after, int status)
{
  Fault f;
  f.kind = Kind::rate_limit;
  f.status = status;
  f.retry_after = std::move(retry_after);
  return f;
}

Fault
Fault::delay_first_byte(std::chrono::milliseconds delay)
{
  Fault f;
  f.kind = Kind::delay_first_byte;
  f.delay = delay;
  return f;
}

Fault
Fault::drip(std::size_t bytes_per_second)
{
  Fault f;
  f.kind = Kind::drip;
  f.bytes = std::max<std::size_t>(1, bytes_per_second);
  return f;
}

Fault
Fault::stall_after(std::size_t bytes)
{
  Fault f;
  f.kind = Kind::stall_after;
  f.bytes = bytes;
  return f;
}

Fault
Fault::truncate(std::size_t bytes)
{
  Fault f;
  f.kind = Kind::truncate;
  f.bytes = bytes;
  return f;
}

Fault
Fault::truncate_chunked(std::size_t bytes)
{
  Fault f;
  f.kind = Kind::truncate_chunked;
  f.bytes = bytes;
  return f;
}

Fault
Fault::reset(std::size_t after_body_bytes)
{
  Fault f;
  f.kind = Kind::reset;
  f.bytes = after_body_bytes;
  return f;
}

Fault
Fault::soft_error_html()
{
  Fault f;
  f.kind = Kind::soft_error_html;
  return f;
}

Fault
Fault::short_object(std::size_t bytes)
{
  Fault f;
  f.kind = Kind::short_object;
  f.bytes = bytes;
  return f;
}

Fault
Fault::wrong_type(std::string content_type)
{
  Fault f;
  f.kind = Kind::wrong_type;
  f.text = std::move(content_type);
  return f;
}

Fault
Fault::gzip()
{
  Fault f;
  f.kind = Kind::gzip;
  return f;
}

// A connection thread and its socket, for stop() to interrupt.
struct HttpServer::Conn
{
  int id = 0;
  int fd = -1; // -1 once the thread is closing it
  bool done = false;
  std::thread thread;
};

HttpServer::HttpServer(HttpServerOptions options) : m_options(std::move(options))
{
  m_listen_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (m_listen_fd < 0) {
    throw std::runtime_error("socket() failed");
  }
  const int on = 1;
  ::setsockopt(m_listen_fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(m_options.port);
  if (::inet_pton(AF_INET, m_options.address.c_str(), &address.sin_addr) != 1
      || ::bind(m_listen_fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0
      || ::listen(m_listen_fd, 128) != 0) {
    ::close(m_listen_fd);
    throw std::runtime_error("cannot listen on " + m_options.address + ":"
                             + std::to_string(m_options.port));
  }
  socklen_t length = sizeof(address);
  ::getsockname(m_listen_fd, reinterpret_cast<sockaddr*>(&address), &length);
  m_port = ntohs(address.sin_port);
  m_acceptor = std::thread([this] { accept_loop(); });
}

HttpServer::~HttpServer() { stop(); }

void
HttpServer::stop()
{
  if (m_stopping.exchange(true)) {
    return;
  }
  m_acceptor.join();
  ::close(m_listen_fd);
  std::list<std::unique_ptr<Conn>> conns;
  {
    std::lock_guard lock(m_mutex);
    for (auto& conn : m_conns) {
      if (conn->fd >= 0) {
        ::shutdown(conn->fd, SHUT_RDWR); // wakes a blocking read
      }
    }
    conns.swap(m_conns);
  }
  for (auto& conn : conns) {
    conn->thread.join();
  }
}

unsigned short
HttpServer::port() const
{
  return m_port;
}

std::string
HttpServer::origin() const
{
  return "http://" + m_options.address + ":" + std::to_string(m_port);
}

std::string
HttpServer::url(std::string_view target) const
{
  return origin() + std::string(target);
}

void
HttpServer::route(std::string method, std::string pattern, Handler handler)
{
  std::lock_guard lock(m_mutex);
  for (auto& route : m_routes) {
    if (route.method == method && route.pattern == pattern) {
      route.handler = std::move(handler);
      return;
    }
  }
  m_routes.push_back({std::move(method), std::move(pattern), std::move(handler)});
}

void
HttpServer::fault(const std::string& pattern, Fault fault)
{
  std::lock_guard lock(m_mutex);
  m_faults[pattern].push_back(std::move(fault));
}

void
HttpServer::clear_faults()
{
  std::lock_guard lock(m_mutex);
  m_faults.clear();
}

void
HttpServer::reset()
{
  std::lock_guard lock(m_mutex);
  m_faults.clear();
  m_counts.clear();
  m_log.clear();
  m_peak = m_in_flight;
}

std::vector<HttpRequest>
HttpServer::requests() const
{
  std::lock_guard lock(m_mutex);
  return m_log;
}

std::vector<HttpRequest>
HttpServer::requests(std::string_view pattern) const
{
  std::lock_guard lock(m_mutex);
  std::vector<HttpRequest> out;
  std::copy_if(m_log.begin(), m_log.end(), std::back_inserter(out),
               [&](const HttpRequest& r) { return r.route == pattern; });
  return out;
}

int
HttpServer::count(std::string_view pattern) const
{
  std::lock_guard lock(m_mutex);
  const auto it = m_counts.find(std::string(pattern));
  return it == m_counts.end() ? 0 : it->second;
}

int
HttpServer::peak_in_flight() const
{
  std::lock_guard lock(m_mutex);
  return m_peak;
}

int
HttpServer::connections() const
{
  std::lock_guard lock(m_mutex);
  return m_conn_count;
}

void
HttpServer::accept_loop()
{
  while (!m_stopping) {
    {
      // Reap finished connections; wait while at the bound.
      std::unique_lock lock(m_mutex);
      for (auto it = m_conns.begin(); it != m_conns.end();) {
        if ((*it)->done) {
          (*it)->thread.join();
          it = m_conns.erase(it);
        } else {
          ++it;
        }
      }
      if (static_cast<int>(m_conns.size()) >= m_options.max_connections) {
        m_conn_done.wait_for(lock, k_slice);
        continue;
      }
    }
    pollfd pfd{m_listen_fd, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(k_slice.count())) <= 0) {
      continue;
    }
    const int fd = ::accept4(m_listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd >= 0) {
      // Headers and body go out in separate writes: without this, Nagle
      // and delayed ACK add ~40 ms to every small response.
      const int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    if (fd < 0) {
      continue;
    }
    std::lock_guard lock(m_mutex);
    auto conn = std::make_unique<Conn>();
    conn->id = ++m_conn_count;
    conn->fd = fd;
    Conn& ref = *conn;
    m_conns.push_back(std::move(conn));
    ref.thread = std::thread([this, &ref] { serve(ref); });
  }
}

const HttpServer::Route*
HttpServer::find_route(const std::string& method, const std::string& path) const
{
  const Route* best = nullptr;
  std::size_t best_length = 0;
  for (const auto& route : m_routes) {
    if (route.method != "*" && route.method != method) {
      continue;
    }
    if (route.pattern == path) {
      return &route;
    }
    if (!route.pattern.empty() && route.pattern.back() == '*') {
      const auto prefix = std::string_view(route.pattern).substr(0, route.pattern.size() - 1);
      if (path.compare(0, prefix.size(), prefix) == 0
          && (best == nullptr || prefix.size() > best_length)) {
        best = &route;
        best_length = prefix.size();
      }
    }
  }
  return best;
}

std::vector<Fault>
HttpServer::faults_for(const std::string& pattern, int number) const
{
  std::vector<Fault> out;
  const auto it = m_faults.find(pattern);
  if (it != m_faults.end()) {
    std::copy_if(it->second.begin(), it->second.end(), std::back_inserter(out),
                 [&](const Fault& f) { return f.calls.contains(number); });
  }
  return out;
}

bool
HttpServer::sleep_while_running(std::chrono::milliseconds delay) const
{
  const auto end = std::chrono::steady_clock::now() + delay;
  while (!m_stopping) {
    const auto left = end - std::chrono::steady_clock::now();
    if (left <= std::chrono::milliseconds(0)) {
      return true;
    }
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(left, k_slice));
  }
  return false;
}

void
HttpServer::serve(Conn& conn)
{
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  beast::error_code ec;
  socket.assign(asio::ip::tcp::v4(), conn.fd, ec);
  if (ec) {
    ::close(conn.fd);
  }
  beast::flat_buffer buffer;
  // An abortive close (the peer sees ECONNRESET), under the lock like the
  // final close, so that stop() never touches a closed descriptor.
  const auto reset_now = [&] {
    std::lock_guard lock(m_mutex);
    conn.fd = -1;
    reset_connection(socket);
  };

  while (!ec && !m_stopping) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.body_limit(k_body_limit);
    bhttp::read(socket, buffer, parser, ec);
    if (ec) {
      break;
    }
    const auto& message = parser.get();

    HttpRequest request;
    request.method = std::string(message.method_string());
    request.target = std::string(message.target());
    const auto question = request.target.find('?');
    request.path = request.target.substr(0, question);
    request.query = question == std::string::npos ? "" : request.target.substr(question + 1);
    for (const auto& field : message) {
      const auto name = field.name_string();
      request.headers.emplace_back(lower(std::string_view(name.data(), name.size())),
                                   std::string(field.value()));
    }
    request.body = message.body();
    request.connection = conn.id;
    request.time = std::chrono::steady_clock::now();

    Handler handler;
    std::vector<Fault> faults;
    {
      std::lock_guard lock(m_mutex);
      if (const Route* route = find_route(request.method, request.path)) {
        request.route = route->pattern;
        handler = route->handler;
      }
      request.number = ++m_counts[request.route];
      faults = faults_for(request.route, request.number);
      m_log.push_back(request);
      m_peak = std::max(m_peak, ++m_in_flight);
    }

    bool keep_alive = message.keep_alive();
    const auto has = [&](Fault::Kind kind) -> const Fault* {
      for (const auto& f : faults) {
        if (f.kind == kind) {
          return &f;
        }
      }
      return nullptr;
    };

    // The response, or a fault in its place.
    HttpResponse response;
    if (const auto* f = has(Fault::Kind::delay_first_byte)) {
      keep_alive = sleep_while_running(f->delay) && keep_alive;
    }
    const auto* reset = has(Fault::Kind::reset);
    if (reset != nullptr && reset->bytes == 0) {
      keep_alive = false;
      reset_now();
    } else if (const auto* status = has(Fault::Kind::status)) {
      response = error_page(status->status);
    } else if (const auto* limit = has(Fault::Kind::rate_limit)) {
      response = error_page(limit->status);
      if (limit->retry_after) {
        response.header("Retry-After", *limit->retry_after);
      }
    } else if (has(Fault::Kind::soft_error_html) != nullptr) {
      response = HttpResponse::html("<!DOCTYPE html>\n<html><head><title>Login</title></head>"
                                    "<body><form action=\"/login\">Session expired, please "
                                    "log in again</form></body></html>\n");
    } else if (handler) {
      try {
        response = handler(request);
      } catch (const std::exception& e) {
        response = HttpResponse::text(std::string("handler failed: ") + e.what() + "\n", 500);
      }
    } else {
      response = error_page(404);
    }
    if (!socket.is_open()) {
      std::lock_guard lock(m_mutex);
      --m_in_flight;
      break;
    }

    // Changes of the body and headers.
    if (const auto* f = has(Fault::Kind::short_object)) {
      response.body.resize(std::min(response.body.size(), f->bytes));
    }
    if (const auto* f = has(Fault::Kind::wrong_type)) {
      response.headers.erase(
          std::remove_if(response.headers.begin(), response.headers.end(),
                         [](const auto& h) { return lower(h.first) == "content-type"; }),
          response.headers.end());
      response.header("Content-Type", f->text);
    }
    if (has(Fault::Kind::gzip) != nullptr) {
      response.gzip = true;
    }
    std::string body = response.gzip ? gzip(response.body) : response.body;
    if (response.gzip) {
      response.header("Content-Encoding", "gzip");
    }

    // Framing: how much of the body goes out, and how the connection ends.
    const auto* truncate = has(Fault::Kind::truncate);
    const auto* chunked = has(Fault::Kind::truncate_chunked);
    const auto* stall = has(Fault::Kind::stall_after);
    const auto* drip = has(Fault::Kind::drip);
    if (truncate != nullptr || chunked != nullptr || stall != nullptr || reset != nullptr) {
      keep_alive = false;
    }
    std::string head =
        "HTTP/1.1 " + std::to_string(response.status) + " " + reason(response.status) + "\r\n";
    for (const auto& [name, value] : response.headers) {
      const auto key = lower(name);
      if (key != "content-length" && key != "transfer-encoding" && key != "connection") {
        head += name + ": " + value + "\r\n";
      }
    }
    if (chunked != nullptr) {
      head += "Transfer-Encoding: chunked\r\n";
    } else {
      head += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    }
    if (!keep_alive) {
      head += "Connection: close\r\n";
    }
    head += "\r\n";
    if (request.method == "HEAD") {
      body.clear();
    }

    bool ok = write_all(socket, head);
    if (ok && chunked != nullptr) {
      const std::string part = body.substr(0, std::min(body.size(), chunked->bytes));
      char size[32];
      std::snprintf(size, sizeof(size), "%zx\r\n", part.size());
      ok = part.empty() || write_all(socket, std::string(size) + part + "\r\n");
    } else if (ok && truncate != nullptr) {
      ok = write_all(socket, std::string_view(body).substr(0, truncate->bytes));
    } else if (ok && reset != nullptr) {
      ok = write_all(socket, std::string_view(body).substr(0, reset->bytes));
      reset_now();
    } else if (ok && stall != nullptr) {
      ok = write_all(socket, std::string_view(body).substr(0, stall->bytes));
      // Hold the connection until the client gives up, the server stops or
      // max_stall passes.
      const auto end = std::chrono::steady_clock::now() + m_options.max_stall;
      while (ok && !m_stopping && std::chrono::steady_clock::now() < end) {
        pollfd pfd{socket.native_handle(), POLLIN, 0};
        if (::poll(&pfd, 1, static_cast<int>(k_slice.count())) > 0) {
          char sink[4096];
          ok = ::recv(socket.native_handle(), sink, sizeof(sink), 0) > 0;
        }
      }
    } else if (ok && drip != nullptr) {
      const std::size_t slice = std::max<std::size_t>(1, drip->bytes / 10);
      for (std::size_t at = 0; ok && at < body.size(); at += slice) {
        ok = write_all(socket, std::string_view(body).substr(at, slice))
             && sleep_while_running(std::chrono::milliseconds(100));
      }
    } else if (ok) {
      ok = write_all(socket, body);
    }
    {
      std::lock_guard lock(m_mutex);
      --m_in_flight;
    }
    if (!ok || !keep_alive) {
      break;
    }
  }

  std::lock_guard lock(m_mutex);
  conn.fd = -1; // from here on stop() leaves the descriptor alone
  beast::error_code ignored;
  if (socket.is_open()) {
    socket.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
  }
  conn.done = true;
  m_conn_done.notify_all();
}

} // namespace testutil
