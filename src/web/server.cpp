// SPDX-License-Identifier: GPL-3.0-or-later
// Over 600 lines on purpose: the one file that sees Beast (slow to compile), so every kind of
// response a session writes lives here.
// Boost.Beast sessions: keep-alive, bounded headers and bodies, uploads
// streamed to a spool file, files, chunked streams and server-sent events
// written as the client takes them (WEB.md 4.1). The routes run on a small
// thread pool so that the event loop only moves bytes.
#include "server.hpp"

#include "api.hpp"
#include "events.hpp"
#include "message.hpp"

#include <core/log.hpp>
#include <core/strings.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <set>
#include <thread>

namespace web {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr std::size_t k_header_limit = 16 * 1024;
constexpr std::uint64_t k_body_limit = 1 << 20; // JSON bodies
constexpr auto k_read_timeout = std::chrono::seconds(30);
constexpr auto k_write_timeout = std::chrono::seconds(60);
constexpr auto k_keepalive = std::chrono::seconds(15);
constexpr auto k_linger = std::chrono::seconds(2);
constexpr std::uint64_t k_linger_bytes = std::uint64_t(256) << 20;
constexpr std::size_t k_pipe_bytes = 4 << 20;
constexpr std::size_t k_sse_backlog = 1024; // events queued for a slow client

// A streamed body between its producer thread and the connection.
class Pipe final : public BodyWriter
{
public:
  bool write(std::string data) override
  {
    std::unique_lock<std::mutex> lock(m_mutex);
    m_space.wait(lock, [&] { return m_closed || m_bytes < k_pipe_bytes; });
    if (m_closed) {
      return false;
    }
    m_bytes += data.size();
    m_chunks.push_back(std::move(data));
    wake(lock);
    return true;
  }

  void finish(bool failed)
  {
    std::unique_lock<std::mutex> lock(m_mutex);
    m_done = true;
    m_failed = failed;
    wake(lock);
  }

  // The client has gone: the producer's next write() returns false.
  void close()
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_closed = true;
    m_waiter = nullptr;
    m_space.notify_all();
  }

  enum class Next { chunk, wait, done, failed };

  // Take the next chunk, or register `waiter` to be called once there is one.
  Next take(std::string& out, std::function<void()> waiter)
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    if (!m_chunks.empty()) {
      out = std::move(m_chunks.front());
      m_chunks.pop_front();
      m_bytes -= out.size();
      m_space.notify_all();
      return Next::chunk;
    }
    if (m_done) {
      return m_failed ? Next::failed : Next::done;
    }
    m_waiter = std::move(waiter);
    return Next::wait;
  }

private:
  void wake(std::unique_lock<std::mutex>& lock)
  {
    auto w = std::move(m_waiter);
    m_waiter = nullptr;
    lock.unlock();
    if (w) {
      w();
    }
  }

  std::mutex m_mutex;
  std::condition_variable m_space;
  std::deque<std::string> m_chunks;
  std::size_t m_bytes = 0;
  bool m_done = false;
  bool m_failed = false;
  bool m_closed = false;
  std::function<void()> m_waiter;
};

std::string
lower(beast::string_view s)
{
  return core::to_lower_ascii(std::string(s.data(), s.size()));
}

} // namespace

class Session;

struct Server::Impl : std::enable_shared_from_this<Server::Impl>
{
  Impl(asio::io_context& io, ServerOptions o, Api& a)
      : io(io), options(std::move(o)), api(a), acceptor(io),
        pool(static_cast<std::size_t>(options.workers))
  {
  }

  void accept();

  asio::io_context& io;
  ServerOptions options;
  Api& api;
  tcp::acceptor acceptor;
  asio::thread_pool pool;
  std::mutex mutex;
  std::set<std::shared_ptr<Session>> sessions;
  std::condition_variable streams_done;
  int streams = 0; // producer threads running (detached; stop() waits for them)
  bool stopped = false;
};

class Session : public std::enable_shared_from_this<Session>
{
public:
  Session(tcp::socket socket, std::shared_ptr<Server::Impl> server)
      : m_stream(std::move(socket)), m_server(std::move(server))
  {
    beast::error_code ec;
    m_remote = m_stream.socket().remote_endpoint(ec).address().to_string();
  }

  void start() { read_header(); }

  // From Server::stop(), on the io thread.
  void close()
  {
    release();
    beast::error_code ec;
    m_stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    m_stream.socket().close(ec);
  }

private:
  void read_header()
  {
    m_header.emplace();
    m_header->header_limit(k_header_limit);
    m_header->body_limit(m_server->options.max_upload);
    m_stream.expires_after(k_read_timeout);
    bhttp::async_read_header(
        m_stream, m_buffer, *m_header,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec)
  {
    if (ec) {
      if (ec == bhttp::error::body_limit) { // Content-Length over http.max_upload_mb
        return reply_and_close(
            error_response(413, "too_large",
                           "the upload is larger than http.max_upload_mb ("
                               + std::to_string(m_server->options.max_upload >> 20) + " MiB)"));
      }
      if (ec == bhttp::error::header_limit) {
        return reply_and_close(error_response(431, "too_large", "the request header is too large"));
      }
      if (ec != bhttp::error::end_of_stream && ec != beast::error::timeout) {
        if (ec != asio::error::operation_aborted && ec != asio::error::connection_reset) {
          return reply_and_close(error_response(400, "bad_request", "malformed HTTP request"));
        }
      }
      return finish();
    }
    auto& h = m_header->get();
    m_request = Request{};
    m_request.method = std::string(h.method_string());
    m_request.target = std::string(h.target());
    m_request.remote = m_remote;
    m_keep_alive = h.keep_alive();
    for (const auto& field : h) {
      auto& slot = m_request.headers[lower(field.name_string())];
      slot = slot.empty() ? std::string(field.value()) : slot + ", " + std::string(field.value());
    }
    if (!parse_target(m_request.target, m_request.path, m_request.query)
        || m_request.path.find("/../") != std::string::npos
        || (m_request.path.size() >= 3
            && m_request.path.compare(m_request.path.size() - 3, 3, "/..") == 0)) {
      return reply_and_close(error_response(400, "bad_request", "malformed request target"));
    }
    const bool upload = Api::is_upload(m_request.method, m_request.path);
    const auto length = m_header->content_length();
    if (upload && length && *length > m_server->options.max_upload) {
      return reply_and_close(error_response(413, "too_large",
                                            "the upload is larger than http.max_upload_mb ("
                                                + std::to_string(m_server->options.max_upload >> 20)
                                                + " MiB)"));
    }
    if (!upload && length && *length > k_body_limit) {
      return reply_and_close(error_response(413, "too_large", "the request body is over 1 MiB"));
    }
    if (core::iequals_ascii(m_request.header("expect"), "100-continue")) {
      // curl waits for this before a large body (RFC 9110 10.1.1).
      auto msg = std::make_shared<std::string>("HTTP/1.1 100 Continue\r\n\r\n");
      asio::async_write(
          m_stream, asio::buffer(*msg),
          [self = shared_from_this(), msg, upload](beast::error_code wec, std::size_t) {
            if (wec) {
              return self->finish();
            }
            self->read_body(upload);
          });
      return;
    }
    read_body(upload);
  }

  void read_body(bool upload)
  {
    if (!upload) {
      m_string.emplace(std::move(*m_header));
      m_string->body_limit(k_body_limit);
      m_stream.expires_after(k_read_timeout);
      bhttp::async_read(m_stream, m_buffer, *m_string,
                        [self = shared_from_this()](beast::error_code ec, std::size_t) {
                          if (ec == bhttp::error::body_limit) {
                            return self->reply_and_close(
                                error_response(413, "too_large", "the request body is over 1 MiB"));
                          }
                          if (ec) {
                            return self->finish();
                          }
                          self->m_request.body = std::move(self->m_string->get().body());
                          self->m_request.body_size = self->m_request.body.size();
                          self->dispatch();
                        });
      return;
    }
    m_file.emplace(std::move(*m_header));
    m_file->body_limit(m_server->options.max_upload);
    m_upload_path = m_server->options.spool_path();
    beast::error_code ec;
    m_file->get().body().open(m_upload_path.c_str(), beast::file_mode::write_new, ec);
    if (ec) {
      CF_LOG(error, "web",
             "upload: cannot create " << m_upload_path.string() << ": " << ec.message());
      return reply_and_close(error_response(507, "storage_full", "cannot store the upload"));
    }
    if (m_file->is_done()) { // Content-Length: 0
      return on_upload_some({});
    }
    read_upload_some();
  }

  // The body piece by piece, so the timeout is one of idleness, not of the
  // whole (possibly hours-long) upload.
  void read_upload_some()
  {
    m_stream.expires_after(k_read_timeout);
    bhttp::async_read_some(m_stream, m_buffer, *m_file,
                           [self = shared_from_this()](beast::error_code ec, std::size_t) {
                             self->on_upload_some(ec);
                           });
  }

  void on_upload_some(beast::error_code ec)
  {
    if (ec) {
      m_file->get().body().close();
      drop_upload();
      if (ec == bhttp::error::body_limit) {
        return reply_and_close(
            error_response(413, "too_large", "the upload is larger than http.max_upload_mb"));
      }
      // Truncated or timed out: nothing of it is kept (RFC 9112 8).
      CF_LOG(warn, "web", "upload from " << m_remote << " ended early: " << ec.message());
      return finish();
    }
    if (!m_file->is_done()) {
      return read_upload_some();
    }
    m_file->get().body().close();
    m_request.body_file = m_upload_path;
    m_request.body_size = m_file->content_length().value_or(0);
    if (m_request.body_size == 0) {
      std::error_code fec;
      m_request.body_size = std::filesystem::file_size(m_upload_path, fec);
    }
    dispatch();
  }

  void drop_upload()
  {
    if (!m_upload_path.empty()) {
      std::error_code ec;
      std::filesystem::remove(m_upload_path, ec);
      m_upload_path.clear();
    }
  }

  void dispatch()
  {
    m_stream.expires_never();
    asio::post(m_server->pool, [self = shared_from_this()] {
      auto response = std::make_shared<Response>(self->m_server->api.handle(self->m_request));
      asio::post(self->m_stream.get_executor(), [self, response] {
        self->drop_upload(); // the route has taken it or left it
        self->respond(std::move(*response));
      });
    });
  }

  template <class Message> void common_headers(Message& res, const Response& r)
  {
    res.set(bhttp::field::server, "cloudfilm");
    res.set(bhttp::field::content_type, r.content_type);
    res.set("X-Content-Type-Options", "nosniff");
    res.set("Referrer-Policy", "same-origin");
    for (const auto& [name, value] : r.headers) {
      res.insert(name, value);
    }
    res.keep_alive(m_keep_alive);
  }

  void respond(Response r)
  {
    if (r.events != nullptr && r.status == 200) {
      return start_events(r);
    }
    if (r.stream && r.status == 200) {
      return start_stream(std::move(r));
    }
    if (!r.file.empty()) {
      bhttp::file_body::value_type body;
      beast::error_code ec;
      body.open(r.file.c_str(), beast::file_mode::scan, ec);
      if (ec) {
        return respond(error_response(404, "not_found", "the file is no longer there"));
      }
      auto res = std::make_shared<bhttp::response<bhttp::file_body>>(
          std::piecewise_construct, std::make_tuple(std::move(body)),
          std::make_tuple(static_cast<bhttp::status>(r.status), 11));
      common_headers(*res, r);
      res->prepare_payload();
      return send(res);
    }
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>(
        static_cast<bhttp::status>(r.status), 11);
    common_headers(*res, r);
    if (m_request.method != "HEAD") {
      res->body() = std::move(r.body);
    }
    res->prepare_payload();
    send(res);
  }

  template <class Body> void send(std::shared_ptr<bhttp::response<Body>> res)
  {
    m_stream.expires_after(k_write_timeout);
    bhttp::async_write(m_stream, *res,
                       [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
                         if (ec || res->need_eof() || self->m_close_after) {
                           return self->finish();
                         }
                         self->read_header();
                       });
  }

  void reply_and_close(Response r)
  {
    m_close_after = true;
    m_keep_alive = false;
    respond(std::move(r));
  }

  // -- chunked stream from a producer thread (zip export) --
  void start_stream(Response r)
  {
    {
      std::lock_guard<std::mutex> lock(m_server->mutex);
      if (m_server->streams >= m_server->options.max_streams || m_server->stopped) {
        return respond(error_response(503, "busy", "too many downloads at once; try again soon"));
      }
      ++m_server->streams;
    }
    m_pipe = std::make_shared<Pipe>();
    m_chunked = std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::ok, 11);
    common_headers(*m_chunked, r);
    m_chunked->chunked(true);
    m_serializer.emplace(*m_chunked);
    auto producer = std::move(r.stream);
    auto pipe = m_pipe;
    auto server = m_server;
    std::thread([producer, pipe, server] {
      bool failed = false;
      try {
        producer(*pipe);
      } catch (...) {
        failed = true;
      }
      pipe->finish(failed);
      std::lock_guard<std::mutex> lock(server->mutex);
      --server->streams;
      server->streams_done.notify_all();
    }).detach();
    m_stream.expires_after(k_write_timeout);
    bhttp::async_write_header(m_stream, *m_serializer,
                              [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                if (ec) {
                                  self->m_pipe->close();
                                  return self->finish();
                                }
                                self->pump();
                              });
  }

  void pump()
  {
    std::weak_ptr<Session> weak = shared_from_this();
    auto executor = m_stream.get_executor();
    const auto next = m_pipe->take(m_chunk, [weak, executor] {
      asio::post(executor, [weak] {
        if (auto self = weak.lock()) {
          self->pump();
        }
      });
    });
    switch (next) {
    case Pipe::Next::wait:
      return;
    case Pipe::Next::failed:
      // Cut the body short: the client must not take a partial zip for whole.
      m_pipe.reset();
      return finish();
    case Pipe::Next::done:
      m_stream.expires_after(k_write_timeout);
      asio::async_write(m_stream, bhttp::make_chunk_last(),
                        [self = shared_from_this()](beast::error_code ec, std::size_t) {
                          self->m_pipe.reset();
                          if (ec || !self->m_keep_alive) {
                            return self->finish();
                          }
                          self->read_header();
                        });
      return;
    case Pipe::Next::chunk:
      m_stream.expires_after(k_write_timeout);
      asio::async_write(m_stream, bhttp::make_chunk(asio::buffer(m_chunk)),
                        [self = shared_from_this()](beast::error_code ec, std::size_t) {
                          if (ec) {
                            self->m_pipe->close();
                            return self->finish();
                          }
                          self->pump();
                        });
      return;
    }
  }

  // -- server-sent events --
  void start_events(const Response& r)
  {
    m_hub = r.events;
    m_chunked = std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::ok, 11);
    Response head = r;
    head.content_type = "text/event-stream; charset=utf-8";
    common_headers(*m_chunked, head);
    m_chunked->set(bhttp::field::cache_control, "no-store");
    m_chunked->set("X-Accel-Buffering", "no");
    m_chunked->chunked(true);
    m_serializer.emplace(*m_chunked);
    std::weak_ptr<Session> weak = shared_from_this();
    auto executor = m_stream.get_executor();
    std::vector<Event> replay;
    m_sse_token = m_hub->subscribe(
        [weak, executor](const Event& e) {
          auto text = format_event(e);
          asio::post(executor, [weak, text = std::move(text)]() mutable {
            if (auto self = weak.lock()) {
              self->queue_event(std::move(text));
            }
          });
        },
        r.last_event_id, replay);
    m_sse_queue.push_back("retry: 3000\n\n");
    for (const auto& e : replay) {
      m_sse_queue.push_back(format_event(e));
    }
    m_stream.expires_after(k_write_timeout);
    m_sse_writing = true;
    bhttp::async_write_header(m_stream, *m_serializer,
                              [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                self->m_sse_writing = false;
                                if (ec) {
                                  return self->finish();
                                }
                                self->arm_keepalive();
                                self->write_events();
                              });
  }

  void queue_event(std::string text)
  {
    if (m_sse_token == 0) {
      return;
    }
    if (m_sse_queue.size() >= k_sse_backlog) {
      // A client this far behind gets cut off; EventSource reconnects with
      // Last-Event-ID and the page reloads its lists.
      return finish();
    }
    m_sse_queue.push_back(std::move(text));
    write_events();
  }

  void write_events()
  {
    if (m_sse_writing || m_sse_queue.empty() || m_sse_token == 0) {
      return;
    }
    m_sse_writing = true;
    m_chunk.clear();
    while (!m_sse_queue.empty()) {
      m_chunk += m_sse_queue.front();
      m_sse_queue.pop_front();
    }
    m_stream.expires_after(k_write_timeout);
    asio::async_write(m_stream, bhttp::make_chunk(asio::buffer(m_chunk)),
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        self->m_sse_writing = false;
                        if (ec) {
                          return self->finish();
                        }
                        self->m_stream.expires_never();
                        self->write_events();
                      });
  }

  void arm_keepalive()
  {
    m_timer.expires_after(k_keepalive);
    m_timer.async_wait([weak = std::weak_ptr<Session>(shared_from_this())](beast::error_code ec) {
      auto self = weak.lock();
      if (ec || !self || self->m_sse_token == 0) {
        return;
      }
      self->queue_event(": keepalive\n\n");
      self->arm_keepalive();
    });
  }

  // The connection is over: close it and let the server forget it. After
  // an early answer (413 before the body) the rest of the request is read
  // and dropped for a moment first (RFC 9112 9.6): closing with unread data
  // makes the kernel send a reset, and the client would lose the answer.
  void finish()
  {
    if (m_close_after && !m_lingering && m_stream.socket().is_open()) {
      m_lingering = true;
      beast::error_code ec;
      m_stream.socket().shutdown(tcp::socket::shutdown_send, ec);
      m_stream.expires_after(k_linger);
      return linger();
    }
    drop_upload();
    release();
    beast::error_code ec;
    m_stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    m_stream.socket().close(ec);
    std::lock_guard<std::mutex> lock(m_server->mutex);
    m_server->sessions.erase(shared_from_this());
  }

  // Stop what feeds the connection: the producer's pipe, the event hub, the
  // keepalive timer.
  void release()
  {
    if (m_pipe) {
      m_pipe->close();
    }
    if (m_sse_token != 0) {
      m_hub->unsubscribe(m_sse_token);
      m_sse_token = 0;
    }
    m_timer.cancel();
  }

  void linger()
  {
    m_linger_buffer.resize(64 * 1024);
    m_stream.async_read_some(asio::buffer(m_linger_buffer),
                             [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                               self->m_lingered += n;
                               if (ec || self->m_lingered > k_linger_bytes) {
                                 return self->finish();
                               }
                               self->linger();
                             });
  }

  beast::tcp_stream m_stream;
  std::shared_ptr<Server::Impl> m_server;
  bool m_lingering = false;
  std::string m_linger_buffer;
  std::uint64_t m_lingered = 0;
  beast::flat_buffer m_buffer;
  std::string m_remote;
  std::optional<bhttp::request_parser<bhttp::empty_body>> m_header;
  std::optional<bhttp::request_parser<bhttp::string_body>> m_string;
  std::optional<bhttp::request_parser<bhttp::file_body>> m_file;
  std::filesystem::path m_upload_path;
  Request m_request;
  bool m_keep_alive = true;
  bool m_close_after = false;
  // Streams and events.
  std::shared_ptr<bhttp::response<bhttp::empty_body>> m_chunked;
  std::optional<bhttp::response_serializer<bhttp::empty_body>> m_serializer;
  std::shared_ptr<Pipe> m_pipe;
  std::string m_chunk;
  EventHub* m_hub = nullptr;
  std::uint64_t m_sse_token = 0;
  std::deque<std::string> m_sse_queue;
  bool m_sse_writing = false;
  asio::steady_timer m_timer{m_stream.get_executor()};
};

void
Server::Impl::accept()
{
  acceptor.async_accept(
      asio::make_strand(io), [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
        if (ec) {
          if (ec != asio::error::operation_aborted) {
            CF_LOG(warn, "web", "accept: " << ec.message());
            self->accept();
          }
          return;
        }
        socket.set_option(tcp::no_delay(true), ec);
        std::shared_ptr<Session> session;
        {
          std::lock_guard<std::mutex> lock(self->mutex);
          if (self->stopped) {
            return;
          }
          if (static_cast<int>(self->sessions.size()) >= self->options.max_connections) {
            socket.close(ec); // over the limit: the client retries later
          } else {
            session = std::make_shared<Session>(std::move(socket), self);
            self->sessions.insert(session);
          }
        }
        if (session) {
          session->start();
        }
        self->accept();
      });
}

Server::Server(boost::asio::io_context& io, ServerOptions options, Api& api)
    : m_impl(std::make_shared<Impl>(io, std::move(options), api))
{
}

Server::~Server() { stop(); }

core::Result<void>
Server::start()
{
  beast::error_code ec;
  const auto address = asio::ip::make_address(m_impl->options.bind, ec);
  if (ec) {
    return core::make_error(std::make_error_code(std::errc::invalid_argument),
                            "http.bind '" + m_impl->options.bind + "' is not an IP address");
  }
  const tcp::endpoint endpoint(address, static_cast<unsigned short>(m_impl->options.port));
  auto& acc = m_impl->acceptor;
  acc.open(endpoint.protocol(), ec);
  if (!ec) {
    acc.set_option(asio::socket_base::reuse_address(true), ec);
    acc.bind(endpoint, ec);
  }
  if (!ec) {
    acc.listen(asio::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    return core::make_error(std::error_code(ec.value(), std::system_category()),
                            "HTTP on " + m_impl->options.bind + ":"
                                + std::to_string(m_impl->options.port) + ": " + ec.message());
  }
  CF_LOG(info, "web",
         "HTTP listening on " << m_impl->options.bind << ":" << port() << " (page at /ui/)");
  m_impl->accept();
  return {};
}

int
Server::port() const
{
  beast::error_code ec;
  return m_impl->acceptor.local_endpoint(ec).port();
}

void
Server::stop()
{
  if (!m_impl) {
    return;
  }
  std::set<std::shared_ptr<Session>> sessions;
  {
    std::lock_guard<std::mutex> lock(m_impl->mutex);
    if (m_impl->stopped) {
      return;
    }
    m_impl->stopped = true;
    sessions.swap(m_impl->sessions);
  }
  beast::error_code ec;
  m_impl->acceptor.close(ec);
  for (const auto& s : sessions) {
    s->close();
  }
  m_impl->pool.join();
  // The sessions closed their pipes, so the producers' next write fails.
  std::unique_lock<std::mutex> lock(m_impl->mutex);
  m_impl->streams_done.wait(lock, [&] { return m_impl->streams == 0; });
}

} // namespace web
