// SPDX-License-Identifier: GPL-3.0-or-later
#include "szjudianyun_source.hpp"

#include "framing.hpp"

#include <dicom/instance_info.hpp>
#include <http/client.hpp>
#include <http/content.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <cctype>
#include <chrono>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

namespace szjudianyun {

namespace {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using source::Errc;
using Clock = std::chrono::steady_clock;

constexpr const char* k_host = "qr.szjudianyun.com";
constexpr const char* k_default_server = "http://qinniaofu.coolingesaving.com:63001";
// Largest WebSocket message read (one DICOM file). Beast refuses more with
// websocket::error::message_too_big.
constexpr std::size_t k_max_message = std::size_t{64} << 20;

std::string
random_alnum(std::size_t n)
{
  static const char k[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  thread_local std::mt19937 rng{std::random_device{}()};
  std::uniform_int_distribution<std::size_t> pick(0, sizeof(k) - 2);
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    out += k[pick(rng)];
  }
  return out;
}

// "Title Case" per alphabetic run, whitespace removed (platforms.md 3.7).
std::string
title_case(const std::string& text)
{
  std::string out;
  bool in_word = false;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isspace(u)) {
      in_word = false;
      continue;
    }
    if (u < 0x80 && std::isalpha(u)) {
      out += static_cast<char>(in_word ? std::tolower(u) : std::toupper(u));
      in_word = true;
    } else {
      out += c;
      in_word = false;
    }
  }
  return out;
}

// `42["...",{"error":...}]` or a socket.io ERROR packet (`44...`).
bool
is_error_event(const std::string& text)
{
  if (classify(text) == Frame::error) {
    return true;
  }
  auto payload = event_payload(text);
  if (!payload) {
    return false;
  }
  const auto j = nlohmann::json::parse(*payload, nullptr, false);
  return j.is_array() && j.size() >= 2 && j[1].is_object() && j[1].contains("error");
}

struct Message
{
  bool binary = false;
  std::string data;
};

// One blocking WebSocket over Beast's async API driven by a private
// io_context, so every step has a timeout. Not thread-safe: one per worker.
class Socket
{
public:
  explicit Socket(std::chrono::seconds timeout) : m_ws(m_ioc), m_timeout(timeout) {}

  ~Socket()
  {
    beast::error_code ec;
    beast::get_lowest_layer(m_ws).socket().close(ec);
  }

  core::Result<void> open(const std::string& host, const std::string& port,
                          const std::string& target, const std::string& cookie)
  {
    tcp::resolver resolver(m_ioc);
    beast::error_code ec;
    const auto endpoints = resolver.resolve(host, port, ec);
    if (ec) {
      return core::make_error(http::Errc::connect_failed, host + ": " + ec.message());
    }
    beast::get_lowest_layer(m_ws).expires_after(m_timeout);
    ec = run([&](auto done) {
      beast::get_lowest_layer(m_ws).async_connect(
          endpoints, [done](beast::error_code e, const auto&) { done(e); });
    });
    if (ec) {
      return core::make_error(http::Errc::connect_failed, host + ":" + port + ": " + ec.message());
    }
    beast::get_lowest_layer(m_ws).expires_never();
    websocket::stream_base::timeout opt{m_timeout, m_timeout, false};
    m_ws.set_option(opt);
    m_ws.set_option(websocket::stream_base::decorator([cookie](websocket::request_type& req) {
      req.set(beast::http::field::user_agent,
              "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/143.0");
      req.set(beast::http::field::cookie, cookie);
    }));
    // One message carries one DICOM file; the cap bounds what a hostile
    // plain-http server can make each worker hold (S5).
    m_ws.read_message_max(k_max_message);
    websocket::response_type response;
    ec = run([&](auto done) { m_ws.async_handshake(response, host + ":" + port, target, done); });
    if (ec) {
      return core::make_error(http::Errc::transfer_failed,
                              "WebSocket upgrade: " + ec.message() + " (HTTP "
                                  + std::to_string(response.result_int()) + ")");
    }
    return {};
  }

  core::Result<void> send(const std::string& text)
  {
    m_ws.text(true);
    const auto ec = run([&](auto done) {
      m_ws.async_write(net::buffer(text), [done](beast::error_code e, std::size_t) { done(e); });
    });
    if (ec) {
      return core::make_error(http::Errc::transfer_failed, "WebSocket send: " + ec.message());
    }
    return {};
  }

  core::Result<Message> read()
  {
    beast::flat_buffer buffer;
    const auto ec = run([&](auto done) {
      m_ws.async_read(buffer, [done](beast::error_code e, std::size_t) { done(e); });
    });
    if (ec) {
      return core::make_error(ec == beast::error::timeout ? http::Errc::timeout
                                                          : http::Errc::transfer_failed,
                              "WebSocket read: " + ec.message());
    }
    return Message{m_ws.got_binary(), beast::buffers_to_string(buffer.data())};
  }

private:
  // Start one async operation and run the context until it completes
  // (run_one: the stream's idle timer stays pending in the background).
  template <typename Start> beast::error_code run(Start start)
  {
    bool finished = false;
    beast::error_code result;
    start([&](beast::error_code e) {
      result = e;
      finished = true;
    });
    m_ioc.restart();
    while (!finished) {
      if (m_ioc.run_one() == 0) {
        return net::error::operation_aborted;
      }
    }
    return result;
  }

  net::io_context m_ioc;
  websocket::stream<beast::tcp_stream> m_ws;
  std::chrono::seconds m_timeout;
};

// One socket.io session: handshake, upgrade, the study opened.
struct Session
{
  std::unique_ptr<Socket> socket;
  StudyInfo info;
  std::chrono::milliseconds ping_interval{25000};
  Clock::time_point last_ping = Clock::now();
};

enum class Outcome { done, retry };

class SzjudianyunSource final : public source::Source
{
public:
  explicit SzjudianyunSource(const source::Options& options)
  {
    if (auto it = options.find("server"); it != options.end()) {
      m_server = it->second;
    }
    if (auto it = options.find("connections"); it != options.end()) {
      m_connections = std::max(1, std::stoi(it->second));
    }
    if (auto it = options.find("timeout"); it != options.end()) {
      m_timeout = std::chrono::seconds(std::max(1, std::stoi(it->second)));
    }
    if (auto it = options.find("retries"); it != options.end()) {
      m_retries = std::max(0, std::stoi(it->second));
    }
    while (!m_server.empty() && m_server.back() == '/') {
      m_server.pop_back();
    }
    auto rest = m_server;
    if (const auto p = rest.find("://"); p != std::string::npos) {
      rest = rest.substr(p + 3);
    }
    const auto colon = rest.rfind(':');
    m_host = colon == std::string::npos ? rest : rest.substr(0, colon);
    m_port = colon == std::string::npos ? "80" : rest.substr(colon + 1);
  }

  core::Result<void> fetch(const source::Request& request, store::IngestSink& sink,
                           http::Client& client, source::Job& job) override
  {
    auto share = parse_share_url(request.url);
    if (!share) {
      return share.error();
    }
    auto first = open_session(client, *share);
    if (!first) {
      return first.error();
    }
    const StudyInfo info = first->info;
    for (const auto& j : info.junk) {
      job.skipped("series " + j.id + " is a rendered film sheet, not DICOM");
    }
    struct Item
    {
      const SeriesEntry* series;
      long index; // 1-based
    };
    std::vector<Item> items;
    for (const auto& s : info.series) {
      for (long k = 1; k <= s.count; ++k) {
        items.push_back({&s, k});
      }
    }
    job.add_series(static_cast<long>(info.series.size()));
    job.add_instances(static_cast<long>(items.size()));

    std::atomic<std::size_t> next{0};
    std::vector<std::thread> workers;
    std::mutex first_mutex;
    std::optional<Session> spare(std::move(*first));
    const int n = static_cast<int>(
        std::min<std::size_t>(static_cast<std::size_t>(m_connections), items.size()));
    for (int t = 0; t < n; ++t) {
      workers.emplace_back([&] {
        std::optional<Session> session;
        {
          std::lock_guard<std::mutex> lock(first_mutex);
          session.swap(spare);
        }
        for (std::size_t k = next++; k < items.size() && !job.cancelled(); k = next++) {
          const auto& item = items[k];
          const std::string what = "series " + item.series->id + " #" + std::to_string(item.index);
          core::Error last{};
          bool ok = false;
          for (int attempt = 0; attempt <= m_retries && !job.cancelled(); ++attempt) {
            if (!session) {
              auto s = open_session(client, *share);
              if (!s) {
                last = s.error();
                continue;
              }
              session.emplace(std::move(*s));
            }
            auto r = fetch_one(*session, sink, job, *item.series, item.index);
            if (r) {
              ok = true;
              break;
            }
            last = r.error();
            session.reset(); // the socket is in an unknown state: reconnect
          }
          if (!ok && !job.cancelled()) {
            job.failed(what + ": " + last.message());
          }
        }
      });
    }
    for (auto& w : workers) {
      w.join();
    }
    if (job.cancelled()) {
      return core::make_error(Errc::cancelled, "interrupted; run the same command again to resume");
    }
    return {};
  }

private:
  core::Result<Session> open_session(http::Client& client, const ShareParams& share)
  {
    http::Request poll;
    poll.url = m_server + "/socket.io/?EIO=3&transport=polling&t=" + random_alnum(7);
    auto resp = client.send(poll);
    if (!resp) {
      return resp.error();
    }
    auto hs = parse_handshake(resp->body);
    if (!hs) {
      return hs.error();
    }
    Session s;
    s.socket = std::make_unique<Socket>(m_timeout);
    s.ping_interval = std::chrono::milliseconds(std::max(1000L, hs->ping_interval_ms));
    if (auto r =
            s.socket->open(m_host, m_port, "/socket.io/?EIO=3&transport=websocket&sid=" + hs->sid,
                           "io=" + hs->sid);
        !r) {
      return r.error();
    }
    if (auto r = s.socket->send("2probe"); !r) {
      return r.error();
    }
    auto probe = s.socket->read();
    if (!probe) {
      return probe.error();
    }
    if (probe->binary || probe->data != "3probe") {
      return core::make_error(Errc::upstream_changed,
                              "socket.io probe answered with " + probe->data.substr(0, 20));
    }
    if (auto r = s.socket->send("5"); !r) {
      return r.error();
    }
    s.last_ping = Clock::now();
    if (auto r = s.socket->send(send_message(save_request(share))); !r) {
      return r.error();
    }
    auto reply = read_event(s);
    if (!reply) {
      return reply.error();
    }
    auto info = parse_study_info(*reply);
    if (!info) {
      return info.error();
    }
    s.info = std::move(*info);
    return s;
  }

  core::Result<void> ping_if_due(Session& s)
  {
    if (Clock::now() - s.last_ping >= s.ping_interval) {
      s.last_ping = Clock::now();
      return s.socket->send("2");
    }
    return {};
  }

  // The next message that is not Engine.IO housekeeping (pings, pongs,
  // noops, binary event headers).
  core::Result<Message> read_data(Session& s)
  {
    for (;;) {
      auto m = s.socket->read();
      if (!m) {
        return m.error();
      }
      if (m->binary) {
        return m;
      }
      switch (classify(m->data)) {
      case Frame::ping:
        if (auto r = s.socket->send("3"); !r) {
          return r.error();
        }
        continue;
      case Frame::pong:
      case Frame::noop:
      case Frame::open:
      case Frame::upgrade:
      case Frame::binary_event:
      case Frame::other:
        continue;
      case Frame::close:
      case Frame::disconnect:
        return core::make_error(http::Errc::transfer_failed,
                                "the server closed the socket.io session");
      case Frame::error:
      case Frame::event:
        return m;
      }
    }
  }

  core::Result<std::string> read_event(Session& s)
  {
    auto m = read_data(s);
    if (!m) {
      return m.error();
    }
    if (m->binary) {
      return core::make_error(Errc::upstream_changed, "binary message where an event was expected");
    }
    return m->data;
  }

  // Ok when the instance is finished (stored, or failed for good and
  // counted); an error when the socket needs a reconnect and a retry.
  core::Result<void> fetch_one(Session& s, store::IngestSink& sink, source::Job& job,
                               const SeriesEntry& series, long index)
  {
    const std::string what = "series " + series.id + " #" + std::to_string(index);
    if (auto r = ping_if_due(s); !r) {
      return r;
    }
    if (auto r = s.socket->send(send_message(fetch_request(s.info, series.id, index))); !r) {
      return r;
    }
    // Unrelated events may come before the binary message; an error event
    // (or a socket.io ERROR packet) ends this instance.
    auto m = read_data(s);
    while (m && !m->binary && !is_error_event(m->data)) {
      m = read_data(s);
    }
    if (!m) {
      return m.error();
    }
    if (!m->binary) {
      job.failed(what + ": the server answered " + m->data.substr(0, 80));
      return {};
    }
    auto payload = strip_binary_marker(std::move(m->data));
    job.add_bytes(payload.size());
    if (!http::is_part10(payload)) {
      job.failed(what + ": not a DICOM Part 10 file");
      return {};
    }
    const auto spool = sink.spool_path();
    {
      std::ofstream out(spool, std::ios::binary);
      out.write(payload.data(), static_cast<std::streamsize>(payload.size()));
      if (!out) {
        job.failed(what + ": cannot write spool file");
        return {};
      }
    }
    // Parse check, and the names for the export tree.
    auto info = dicom::read_instance_info(spool);
    if (!info) {
      std::error_code ec;
      std::filesystem::remove(spool, ec);
      job.failed(what + ": " + info.error().message());
      return {};
    }
    source::ExportName name;
    name.series_key = series.id;
    name.patient = title_case(info->patient_name);
    name.exam = info->study_description.empty() ? info->modality : info->study_description;
    auto time = info->study_time;
    if (const auto dot = time.rfind('.'); dot != std::string::npos) {
      time.erase(dot);
    }
    name.datetime = info->study_date + time;
    name.series_number = info->series_number;
    name.series_description =
        info->series_description.empty() ? "定位像" : info->series_description;
    name.index = static_cast<std::size_t>(index - 1);
    name.series_size = static_cast<std::size_t>(series.count);
    (void)job.deliver(spool, name);
    return {};
  }

  std::string m_server = k_default_server;
  std::string m_host;
  std::string m_port;
  int m_connections = 2;
  int m_retries = 3;
  std::chrono::seconds m_timeout{30};
};

} // namespace

bool
accepts(const std::string& url)
{
  return http::host_of(url) == k_host;
}

std::unique_ptr<source::Source>
make(const source::Options& options)
{
  return std::make_unique<SzjudianyunSource>(options);
}

} // namespace szjudianyun
