// SPDX-License-Identifier: GPL-3.0-or-later
#include "sio_replica.hpp"

#include "cdn_replica.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <sys/socket.h>

#include <atomic>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

namespace replica {

namespace {

namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

constexpr const char* k_sep = "b1u2d3d4h5a";

struct FaultRule
{
  std::string route; // polling, saveC, hangC
  std::string kind;
  std::string arg;
  testutil::Calls calls;
};

FaultRule
parse_rule(const std::string& spec)
{
  FaultRule f;
  auto text = spec;
  if (const auto at = text.rfind('@'); at != std::string::npos) {
    f.calls = parse_calls(text.substr(at + 1));
    text.erase(at);
  }
  const auto c1 = text.find(':');
  if (c1 == std::string::npos) {
    throw std::runtime_error("fault '" + spec + "': expected ROUTE:KIND[:ARG][@CALLS]");
  }
  f.route = text.substr(0, c1);
  auto rest = text.substr(c1 + 1);
  const auto c2 = rest.find(':');
  f.kind = rest.substr(0, c2);
  f.arg = c2 == std::string::npos ? std::string() : rest.substr(c2 + 1);
  static const std::set<std::string> k_known = {
      "polling:status", "polling:rate_limit", "hangC:close",  "hangC:noise",
      "hangC:fragment", "hangC:no_prefix",    "saveC:silent", "saveC:close"};
  if (k_known.count(f.route + ":" + f.kind) == 0) {
    throw std::runtime_error("fault '" + spec + "': unknown route or kind");
  }
  return f;
}

std::string
read_file(const std::filesystem::path& path)
{
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string
param(const std::string& query, const std::string& name)
{
  std::size_t start = 0;
  while (start <= query.size()) {
    auto end = query.find('&', start);
    if (end == std::string::npos) {
      end = query.size();
    }
    const auto item = query.substr(start, end - start);
    const auto eq = item.find('=');
    if (item.substr(0, eq) == name) {
      return eq == std::string::npos ? std::string() : item.substr(eq + 1);
    }
    start = end + 1;
  }
  return {};
}

} // namespace

struct SioReplica::Impl
{
  struct SeriesData
  {
    std::string id;
    std::vector<const std::string*> files;
  };

  Study study;
  SioOptions options;
  std::vector<FaultRule> faults;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  std::map<std::string, std::string> bytes; // SOP UID -> file
  std::vector<SeriesData> series;           // junk last
  std::string film;                         // the dfyfilm JPEG
  std::string hospital_id;
  std::string study_key;
  std::string password;
  std::string info_event;

  net::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::thread thread;
  std::atomic<bool> stopping{false};

  mutable std::mutex mutex; // guards below
  std::set<std::string> sids;
  std::map<std::string, int> counts;
  nlohmann::json log = nlohmann::json::array();
  int connections = 0;
  std::vector<std::shared_ptr<tcp::socket>> sockets;

  int count(const std::string& route, nlohmann::json entry)
  {
    std::lock_guard<std::mutex> lock(mutex);
    const int n = ++counts[route];
    entry["route"] = route;
    entry["number"] = n;
    entry["time"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    log.push_back(std::move(entry));
    return n;
  }

  const FaultRule* fault(const std::string& route, int number, const std::string& kind = {}) const
  {
    for (const auto& f : faults) {
      if (f.route == route && f.calls.contains(number) && (kind.empty() || f.kind == kind)) {
        return &f;
      }
    }
    return nullptr;
  }

  void pause() const
  {
    if (options.latency.count() > 0) {
      std::this_thread::sleep_for(options.latency);
    }
  }

  void accept_loop()
  {
    for (;;) {
      auto socket = std::make_shared<tcp::socket>(ioc);
      beast::error_code ec;
      acceptor.accept(*socket, ec);
      if (stopping) {
        return;
      }
      if (ec) {
        continue;
      }
      int id = 0;
      {
        std::lock_guard<std::mutex> lock(mutex);
        id = ++connections;
        sockets.push_back(socket);
      }
      std::thread([this, socket, id] { serve(*socket, id); }).detach();
    }
  }

  void serve(tcp::socket& socket, int conn)
  {
    beast::flat_buffer buffer;
    for (;;) {
      bhttp::request<bhttp::string_body> req;
      beast::error_code ec;
      bhttp::read(socket, buffer, req, ec);
      if (ec) {
        return;
      }
      const std::string target(req.target());
      const auto q = target.find('?');
      const auto path = target.substr(0, q);
      const auto query = q == std::string::npos ? std::string() : target.substr(q + 1);
      if (websocket::is_upgrade(req)) {
        const auto sid = param(query, "sid");
        bool known = false;
        {
          std::lock_guard<std::mutex> lock(mutex);
          known = sids.count(sid) != 0;
        }
        count("ws", {{"path", path},
                     {"query", query},
                     {"connection", conn},
                     {"cookie", std::string(req[bhttp::field::cookie])}});
        if (path != "/socket.io/" || param(query, "transport") != "websocket" || !known) {
          respond(socket, bhttp::status::bad_request,
                  R"({"code":1,"message":"Session ID unknown"})", "application/json", {});
          return;
        }
        websocket::stream<tcp::socket&> ws(socket);
        ws.accept(req, ec);
        if (!ec) {
          serve_ws(ws, conn);
        }
        return;
      }
      if (path.rfind("/__control/", 0) == 0) {
        control(socket, path);
        continue;
      }
      if (path == "/socket.io/" && param(query, "transport") == "polling") {
        const int n = count("polling", {{"path", path}, {"query", query}, {"connection", conn}});
        pause();
        if (const auto* f = fault("polling", n)) {
          if (f->kind == "status") {
            respond(socket, static_cast<bhttp::status>(std::stoi(f->arg.empty() ? "500" : f->arg)),
                    "<h1>error</h1>", "text/html", {});
          } else {
            respond(socket, bhttp::status::too_many_requests, "<h1>429</h1>", "text/html",
                    f->arg.empty() ? std::string() : f->arg, true);
          }
          continue;
        }
        const auto sid =
            hash_hex("sid" + std::to_string(n) + ":" + std::to_string(conn)).substr(0, 20);
        {
          std::lock_guard<std::mutex> lock(mutex);
          sids.insert(sid);
        }
        const std::string packet =
            "0{\"sid\":\"" + sid
            + "\",\"upgrades\":[\"websocket\"],\"pingInterval\":25000,\"pingTimeout\":60000}";
        const auto body = std::to_string(packet.size()) + ":" + packet + "2:40";
        respond(socket, bhttp::status::ok, body, "text/plain; charset=UTF-8", {}, false,
                "io=" + sid);
        continue;
      }
      respond(socket, bhttp::status::not_found, "<h1>404</h1>", "text/html", {});
    }
  }

  void respond(tcp::socket& socket, bhttp::status status, const std::string& body,
               const std::string& type, const std::string& retry_after, bool with_retry = false,
               const std::string& cookie = {})
  {
    bhttp::response<bhttp::string_body> res{status, 11};
    res.set(bhttp::field::content_type, type);
    if (with_retry && !retry_after.empty()) {
      res.set(bhttp::field::retry_after, retry_after);
    }
    if (!cookie.empty()) {
      res.set(bhttp::field::set_cookie, cookie + "; Path=/; HttpOnly");
    }
    res.body() = body;
    res.prepare_payload();
    beast::error_code ec;
    bhttp::write(socket, res, ec);
  }

  void control(tcp::socket& socket, const std::string& path)
  {
    std::string body = R"({"ok":true})";
    if (path == "/__control/log") {
      std::lock_guard<std::mutex> lock(mutex);
      body = log.dump();
    } else if (path == "/__control/reset") {
      std::lock_guard<std::mutex> lock(mutex);
      log = nlohmann::json::array();
      counts.clear();
    } else if (path == "/__control/info") {
      body = info().dump();
    }
    respond(socket, bhttp::status::ok, body, "application/json", {});
  }

  void send_text(websocket::stream<tcp::socket&>& ws, const std::string& text)
  {
    ws.text(true);
    ws.write(net::buffer(text));
  }

  void send_event(websocket::stream<tcp::socket&>& ws, const nlohmann::json& object)
  {
    send_text(ws, "42" + nlohmann::json::array({"message", object}).dump());
  }

  void serve_ws(websocket::stream<tcp::socket&>& ws, int conn)
  {
    bool opened = false;
    try {
      for (;;) {
        beast::flat_buffer buffer;
        ws.read(buffer);
        const auto text = beast::buffers_to_string(buffer.data());
        if (text == "2probe") {
          send_text(ws, "3probe");
          continue;
        }
        if (text == "2") {
          send_text(ws, "3");
          continue;
        }
        if (text.rfind("42", 0) != 0) {
          continue; // "5" and anything else: no reply
        }
        const auto msg = nlohmann::json::parse(text.substr(2));
        const auto& o = msg.at(1);
        const auto type = o.value("type", std::string());
        if (type == "saveC") {
          const int n = count("saveC", {{"connection", conn},
                                        {"hospital_id", o.value("hospital_id", "")},
                                        {"study", o.value("study", "")},
                                        {"password", o.value("password", "")}});
          if (const auto* f = fault("saveC", n)) {
            if (f->kind == "close") {
              return;
            }
            continue; // silent
          }
          if (options.expired || o.value("hospital_id", "") != hospital_id
              || o.value("study", "") != study_key) {
            send_event(ws, {{"error", "study not found or expired"}});
          } else if (o.value("password", "") != password) {
            send_event(ws, {{"error", "wrong password"}});
          } else {
            opened = true;
            send_text(ws, info_event);
          }
          continue;
        }
        if (type != "hangC") {
          send_event(ws, {{"error", "unknown type"}});
          continue;
        }
        const auto sid = o.value("series", std::string());
        const auto k_text = o.value("series_in", std::string());
        const int n = count("hangC", {{"connection", conn},
                                      {"series", sid},
                                      {"series_in", k_text},
                                      {"tag", o.value("tag", "")},
                                      {"study", o.value("study", "")}});
        pause();
        if (fault("hangC", n, "close")) {
          return; // drops the TCP connection
        }
        const std::string* file = nullptr;
        long k = 0;
        try {
          k = std::stol(k_text);
        } catch (const std::exception&) {
        }
        for (const auto& s : series) {
          if (s.id == sid && k >= 1 && static_cast<std::size_t>(k) <= s.files.size()) {
            file = s.files[static_cast<std::size_t>(k - 1)];
          }
        }
        if (!opened || file == nullptr || o.value("hospital_id", "") != hospital_id
            || o.value("study", "") != study_key) {
          send_event(ws, {{"error", "no such image"}});
          continue;
        }
        if (fault("hangC", n, "noise")) {
          send_text(ws, "3");
          send_text(ws, "6");
          send_event(ws, {{"notice", "unrelated"}});
        }
        send_text(ws, "451-[\"message\",{\"_placeholder\":true,\"num\":0}]");
        std::string payload = fault("hangC", n, "no_prefix") ? *file : "\x04" + *file;
        if (fault("hangC", n, "fragment")) {
          ws.auto_fragment(true);
          ws.write_buffer_bytes(4096);
        }
        ws.binary(true);
        ws.write(net::buffer(payload));
        ws.auto_fragment(false);
      }
    } catch (const std::exception&) {
      return; // closed by the client or malformed JSON: drop the connection
    }
  }

  nlohmann::json info() const
  {
    nlohmann::json j;
    j["port"] = acceptor.local_endpoint().port();
    j["host"] = "qr.szjudianyun.com";
    j["resolve"] = nlohmann::json::array();
    j["server"] = "http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port());
    j["study_uid"] = study.study_instance_uid;
    j["junk"] = 1;
    j["password"] = password;
    const auto base =
        std::string("http://qr.szjudianyun.com/wx/?a=") + hospital_id + "&b=" + study_key;
    j["share_url"] = base + "&c=" + password;
    j["share_urls"] = {{"unknown", "http://qr.szjudianyun.com/wx/?a=" + hospital_id
                                       + "&b=nosuchstudy&c=" + password},
                       {"wrong_password", base + "&c=wrong"}};
    auto images = nlohmann::json::array();
    for (const auto& s : study.series) {
      for (const auto& i : s.instances) {
        images.push_back({{"sop_instance_uid", i.sop_instance_uid}, {"file", i.file.string()}});
      }
    }
    j["images"] = images;
    return j;
  }
};

SioReplica::SioReplica(Study study, SioOptions options) : m_impl(std::make_unique<Impl>())
{
  auto& d = *m_impl;
  d.study = std::move(study);
  d.options = std::move(options);
  for (const auto& spec : d.options.faults) {
    d.faults.push_back(parse_rule(spec));
  }
  for (const auto& s : d.study.series) {
    for (const auto& i : s.instances) {
      d.bytes[i.sop_instance_uid] = read_file(i.file);
    }
  }
  d.film = std::string("\xff\xd8\xff\xe0", 4) + "film sheet\xff\xd9";
  d.hospital_id = "H" + hash_hex("hospital:" + d.study.study_instance_uid).substr(0, 5);
  d.study_key = hash_hex("study:" + d.study.study_instance_uid).substr(0, 16);
  d.password = hash_hex("password:" + d.study.study_instance_uid).substr(0, 6);
  nlohmann::ordered_json ids = nlohmann::ordered_json::array();
  nlohmann::ordered_json counts = nlohmann::ordered_json::object();
  for (const auto& s : d.study.series) {
    Impl::SeriesData data{hash_hex("series:" + s.series_instance_uid).substr(0, 16), {}};
    for (const auto& i : s.instances) {
      data.files.push_back(&d.bytes[i.sop_instance_uid]);
    }
    ids.push_back(data.id);
    counts[data.id] = data.files.size();
    d.series.push_back(std::move(data));
  }
  Impl::SeriesData film{"dfyfilm" + hash_hex("film:" + d.study.study_instance_uid).substr(0, 8),
                        {&d.film}};
  ids.push_back(film.id);
  counts[film.id] = 1;
  d.series.push_back(std::move(film));
  nlohmann::ordered_json o;
  o["hosipital"] = d.hospital_id + k_sep + d.study_key;
  o["series"] = ids;
  o["series_dicom_number"] = counts;
  d.info_event = "42" + nlohmann::ordered_json::array({"message", o}).dump();

  d.acceptor.open(tcp::v4());
  d.acceptor.set_option(net::socket_base::reuse_address(true));
  d.acceptor.bind(tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  d.acceptor.listen();
  d.thread = std::thread([&d] { d.accept_loop(); });
}

SioReplica::~SioReplica() { stop(); }

void
SioReplica::stop()
{
  auto& d = *m_impl;
  if (d.stopping.exchange(true)) {
    return;
  }
  ::shutdown(d.acceptor.native_handle(), SHUT_RDWR);
  if (d.thread.joinable()) {
    d.thread.join();
  }
  std::lock_guard<std::mutex> lock(d.mutex);
  for (auto& s : d.sockets) {
    ::shutdown(s->native_handle(), SHUT_RDWR);
  }
}

nlohmann::json
SioReplica::info() const
{
  return m_impl->info();
}

nlohmann::json
SioReplica::log() const
{
  std::lock_guard<std::mutex> lock(m_impl->mutex);
  return m_impl->log;
}

} // namespace replica
