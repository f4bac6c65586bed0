// SPDX-License-Identifier: GPL-3.0-or-later
#include "hinacom_replica.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <stdexcept>
#include <thread>

namespace replica {

namespace {

using testutil::Calls;
using testutil::Fault;
using testutil::HttpRequest;
using testutil::HttpResponse;

const char* const k_cq_base = "/wcs1/mdmis-app/h5";
const char* const k_cq_prefix = "/wcs1/mdmis-app/h5/api/qinming_h5";

std::string
base64(const std::string& bytes)
{
  static const char* k_alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(bytes[i]) << 16)
                       | (static_cast<unsigned char>(bytes[i + 1]) << 8)
                       | static_cast<unsigned char>(bytes[i + 2]);
    out += k_alphabet[(v >> 18) & 63];
    out += k_alphabet[(v >> 12) & 63];
    out += k_alphabet[(v >> 6) & 63];
    out += k_alphabet[v & 63];
  }
  if (i + 1 == bytes.size()) {
    const unsigned v = static_cast<unsigned char>(bytes[i]) << 16;
    out += k_alphabet[(v >> 18) & 63];
    out += k_alphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == bytes.size()) {
    const unsigned v = (static_cast<unsigned char>(bytes[i]) << 16)
                       | (static_cast<unsigned char>(bytes[i + 1]) << 8);
    out += k_alphabet[(v >> 18) & 63];
    out += k_alphabet[(v >> 12) & 63];
    out += k_alphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

// 16 bytes from a hash, so their base64 ends in "==".
std::string
hash_bytes(const std::string& text)
{
  const auto hex = hash_hex(text);
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  }
  return out;
}

std::string
percent_encode(const std::string& text)
{
  static const char* k_hex = "0123456789ABCDEF";
  std::string out;
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += ch;
    } else {
      out += '%';
      out += k_hex[c >> 4];
      out += k_hex[c & 15];
    }
  }
  return out;
}

std::string
html_page(const std::string& title, const std::string& body)
{
  return "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n<title>" + title
         + "</title>\n</head>\n<body>\n" + body + "\n</body>\n</html>\n";
}

std::string
cookie_header(const std::string& name, const std::string& value, const std::string& extra = "")
{
  return name + "=" + value + "; path=/" + extra;
}

// "3", "3-5", "3-", "%4" (every 4th); empty: all.
Calls
parse_calls(const std::string& text)
{
  if (text.empty() || text == "*") {
    return Calls::all();
  }
  if (text[0] == '%') {
    return Calls::every(std::stoi(text.substr(1)));
  }
  const auto dash = text.find('-');
  if (dash == std::string::npos) {
    return Calls::nth(std::stoi(text));
  }
  const int first = std::stoi(text.substr(0, dash));
  if (dash + 1 == text.size()) {
    return Calls::range(first, INT_MAX);
  }
  return Calls::range(first, std::stoi(text.substr(dash + 1)));
}

Fault
parse_kind(const std::string& kind, const std::string& arg)
{
  const auto number = [&](long fallback) { return arg.empty() ? fallback : std::stol(arg); };
  if (kind == "status") {
    return Fault::http_status(static_cast<int>(number(500)));
  }
  if (kind == "rate_limit") {
    return Fault::rate_limit(arg.empty() ? std::nullopt : std::optional<std::string>(arg), 429);
  }
  if (kind == "rate_limit_503") {
    return Fault::rate_limit(arg.empty() ? std::nullopt : std::optional<std::string>(arg), 503);
  }
  if (kind == "delay") {
    return Fault::delay_first_byte(std::chrono::milliseconds(number(1000)));
  }
  if (kind == "drip") {
    return Fault::drip(static_cast<std::size_t>(number(1024)));
  }
  if (kind == "stall") {
    return Fault::stall_after(static_cast<std::size_t>(number(0)));
  }
  if (kind == "truncate") {
    return Fault::truncate(static_cast<std::size_t>(number(16)));
  }
  if (kind == "truncate_chunked") {
    return Fault::truncate_chunked(static_cast<std::size_t>(number(16)));
  }
  if (kind == "reset") {
    return Fault::reset(static_cast<std::size_t>(number(0)));
  }
  if (kind == "html") {
    return Fault::soft_error_html();
  }
  if (kind == "short") {
    return Fault::short_object(static_cast<std::size_t>(number(16)));
  }
  if (kind == "wrong_type") {
    return Fault::wrong_type(arg.empty() ? "text/html" : arg);
  }
  if (kind == "gzip") {
    return Fault::gzip();
  }
  throw std::runtime_error("unknown fault kind '" + kind
                           + "' (status, rate_limit, rate_limit_503, delay, drip, stall, truncate, "
                             "truncate_chunked, reset, html, short, wrong_type, gzip)");
}

nlohmann::json
cookies_of(const HttpRequest& r)
{
  nlohmann::json out = nlohmann::json::object();
  const std::string all = r.header("cookie");
  std::size_t at = 0;
  while (at < all.size()) {
    auto end = all.find(';', at);
    if (end == std::string::npos) {
      end = all.size();
    }
    auto pair = all.substr(at, end - at);
    at = end + 1;
    pair.erase(0, pair.find_first_not_of(' '));
    const auto eq = pair.find('=');
    if (eq != std::string::npos) {
      out[pair.substr(0, eq)] = pair.substr(eq + 1);
    }
  }
  return out;
}

// Split "/a/b/c" after `prefix` into segments.
std::vector<std::string>
segments_after(const std::string& path, const std::string& prefix)
{
  std::vector<std::string> out;
  std::size_t at = prefix.size();
  while (at <= path.size()) {
    auto end = path.find('/', at);
    if (end == std::string::npos) {
      end = path.size();
    }
    out.push_back(path.substr(at, end - at));
    at = end + 1;
  }
  return out;
}

// A 1x1 grey PNG: what the viewer sends for its pseudo images.
std::string
tiny_png()
{
  static const unsigned char k_png[] = {
      0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48,
      0x44, 0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x00, 0x00,
      0x00, 0x3A, 0x7E, 0x9B, 0x55, 0x00, 0x00, 0x00, 0x0A, 0x49, 0x44, 0x41, 0x54, 0x78,
      0x9C, 0x63, 0x68, 0x00, 0x00, 0x00, 0x82, 0x00, 0x81, 0x77, 0xCD, 0x72, 0xB6, 0x00,
      0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82};
  return std::string(reinterpret_cast<const char*>(k_png), sizeof(k_png));
}

} // namespace

Replica::Replica(Study study, ReplicaOptions options)
    : m_study(std::move(study)), m_options(std::move(options)),
      m_start(std::chrono::steady_clock::now())
{
  const auto& uid = m_study.study_instance_uid;
  m_share_id = hash_hex("share|" + uid);
  {
    const auto h = hash_hex("report|" + uid);
    m_uuid = h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4)
             + "-" + h.substr(20, 12);
  }
  m_sid = hash_hex("sid|" + uid).substr(0, 16);
  m_token = base64("entry|" + m_sid + "|" + hash_bytes("token|" + uid));
  m_cache_key = hash_hex("ck|" + uid).substr(0, 12);
  m_pseudo_id = hash_hex("pseudo|" + uid).substr(0, 20);
  m_cq_share_id = hash_hex("cqshare|" + uid);
  m_cq_content = hash_hex("cqcontent|" + uid) + hash_hex("cqcontent2|" + uid).substr(0, 16);
  m_cq_study_primary_id =
      std::to_string(std::stoull(hash_hex("cqstudy|" + uid).substr(0, 12), nullptr, 16));
  m_cq_hospital_code =
      "50" + std::to_string(std::stoul(hash_hex("cqhosp|" + uid).substr(0, 4), nullptr, 16));
  m_zfp_session = hash_hex("zfpsession|" + uid).substr(0, 24);
  m_zfpxauth = "v1/" + base64(hash_bytes("zfpxauth|" + uid)); // '/' and "=="
  if (m_options.door == Door::cq12320 && m_options.prefix.empty()) {
    m_options.prefix = k_cq_prefix;
  }
  while (!m_options.prefix.empty() && m_options.prefix.back() == '/') {
    m_options.prefix.pop_back();
  }
  if (!m_options.prefix.empty() && m_options.prefix.front() != '/') {
    m_options.prefix.insert(0, "/");
  }

  m_report = std::make_unique<testutil::HttpServer>();
  m_viewer = std::make_unique<testutil::HttpServer>();
  switch (m_options.door) {
  case Door::hinacom:
    install_hinacom_door();
    install_viewer(*m_viewer, true);
    break;
  case Door::jdyfy:
    install_jdyfy_door();
    install_viewer(*m_viewer, true);
    break;
  case Door::cq12320:
    install_cq12320_door();
    install_viewer(*m_report, false);
    break;
  }
  install_control(*m_report);
  install_control(*m_viewer);
  for (const auto& spec : m_options.faults) {
    add_fault(spec);
  }
}

Replica::~Replica() { stop(); }

void
Replica::stop()
{
  m_report->stop();
  m_viewer->stop();
}

std::string
Replica::report_origin() const
{
  return "http://" + m_options.host + ":" + std::to_string(m_report->port());
}

std::string
Replica::viewer_origin() const
{
  return "http://" + m_options.host + ":" + std::to_string(m_viewer->port());
}

std::string
Replica::view_image_url() const
{
  return report_origin() + "/Study/ViewImage?studyId=" + m_sid;
}

std::string
Replica::entry_url() const
{
  return viewer_origin() + "/entry/viewimage?token=" + percent_encode(m_token);
}

std::string
Replica::studyview_path() const
{
  return m_options.prefix + "/ImageViewer/StudyView?studyId=" + m_sid + "&mode=share&showToolbar=1";
}

void
Replica::add_route(testutil::HttpServer& server, const std::string& name, const std::string& method,
                   const std::string& pattern, testutil::Handler handler)
{
  const auto latency = m_options.latency;
  server.route(method, pattern, [latency, handler = std::move(handler)](const HttpRequest& r) {
    if (latency.count() > 0) {
      std::this_thread::sleep_for(latency);
    }
    return handler(r);
  });
  m_routes[name] = {&server, pattern};
}

void
Replica::add_fault(const std::string& spec)
{
  try {
    const auto at = spec.rfind('@');
    const auto head = spec.substr(0, at);
    const auto calls = parse_calls(at == std::string::npos ? "" : spec.substr(at + 1));
    const auto c1 = head.find(':');
    if (c1 == std::string::npos) {
      throw std::runtime_error("expected ROUTE:KIND[:ARG][@CALLS]");
    }
    const auto route = head.substr(0, c1);
    const auto c2 = head.find(':', c1 + 1);
    const auto kind =
        head.substr(c1 + 1, c2 == std::string::npos ? std::string::npos : c2 - c1 - 1);
    const auto arg = c2 == std::string::npos ? std::string() : head.substr(c2 + 1);
    auto fault = parse_kind(kind, arg).on(calls);
    if (!route.empty() && route[0] == '/') {
      m_report->fault(route, fault);
      m_viewer->fault(route, fault);
      return;
    }
    const auto it = m_routes.find(route);
    if (it == m_routes.end()) {
      std::string names;
      for (const auto& [name, r] : m_routes) {
        names += (names.empty() ? "" : ", ") + name;
      }
      throw std::runtime_error("no route '" + route + "' for this door (" + names
                               + ", or a path pattern)");
    }
    it->second.server->fault(it->second.pattern, fault);
  } catch (const std::invalid_argument&) {
    throw std::runtime_error("bad fault '" + spec + "': a number was expected");
  } catch (const std::runtime_error& e) {
    throw std::runtime_error("bad fault '" + spec + "': " + e.what());
  }
}

// --- front doors ---------------------------------------------------------------

void
Replica::install_hinacom_door()
{
  auto& s = *m_report;
  // L1: the share link sets a session cookie and redirects to the login page.
  add_route(s, "share", "GET", "/t/*", [this](const HttpRequest& r) {
    if (r.path != "/t/" + m_share_id) {
      return HttpResponse::html(
          html_page("404", "<h1>分享链接不存在 The share does not exist</h1>"), 404);
    }
    std::string session;
    {
      std::lock_guard lock(m_mutex);
      session = hash_hex("session|" + std::to_string(++m_counter)).substr(0, 24);
      m_report_sessions[session] = false;
    }
    return HttpResponse::redirect(report_origin() + "/ReportView/Login/" + m_uuid)
        .header("Set-Cookie", cookie_header("ASP.NET_SessionId", session, "; HttpOnly"));
  });
  // L2: login form, password POST, report page.
  add_route(s, "login", "*", "/ReportView/Login/*",
            [this](const HttpRequest& r) { return login_page(r); });
  add_route(s, "viewimage", "GET", "/Study/ViewImage",
            [this](const HttpRequest& r) { return view_image(r); });
}

HttpResponse
Replica::login_page(const HttpRequest& r)
{
  if (r.path != "/ReportView/Login/" + m_uuid) {
    return HttpResponse::html(html_page("404", "<h1>404</h1>"), 404);
  }
  const std::string report =
      html_page("检查报告", "<div class=\"report\"><h2>" + m_study.description
                                + "</h2>\n<p>报告已审核</p>\n"
                                  "<a class=\"btn\" href=\"/Study/ViewImage?studyId="
                                + m_sid + "\" target=\"_blank\">查看影像</a></div>");
  const std::string form =
      html_page("请输入提取码", "<form method=\"post\" action=\"/ReportView/Login/" + m_uuid
                                    + "\">\n"
                                      "<input type=\"hidden\" name=\"id\" value=\""
                                    + m_uuid
                                    + "\" />\n"
                                      "<input type=\"password\" name=\"Password\" />\n<button "
                                      "type=\"submit\">确定</button>\n</form>");
  const auto session = r.cookie("ASP.NET_SessionId");
  std::unique_lock lock(m_mutex);
  const auto it = m_report_sessions.find(session);
  if (r.method == "GET") {
    return HttpResponse::html(it != m_report_sessions.end() && it->second ? report : form);
  }
  if (r.method != "POST") {
    return HttpResponse::html(html_page("405", "<h1>405</h1>"), 405);
  }
  if (it == m_report_sessions.end()) {
    return HttpResponse::html(html_page(
        "会话已过期", "<p class=\"error\">会话已过期，请重新打开链接 (session expired)</p>"));
  }
  if (m_options.cancelled) {
    return HttpResponse::html(
        html_page("提示", "<p class=\"error\">该分享已被取消 (the share was cancelled)</p>"));
  }
  if (r.form("id") != m_uuid || r.form("Password") != m_options.password) {
    return HttpResponse::html(
        html_page("请输入提取码", "<p class=\"error\">提取码错误 (wrong password)</p>\n" + form));
  }
  it->second = true;
  lock.unlock();
  if (m_options.login_redirect) {
    return HttpResponse::redirect(report_origin() + r.path);
  }
  return HttpResponse::html(report);
}

HttpResponse
Replica::view_image(const HttpRequest& r)
{
  if (r.param("studyId") != m_sid) {
    return HttpResponse::html(html_page("404", "<h1>404</h1>"), 404);
  }
  if (m_options.door == Door::hinacom) {
    std::lock_guard lock(m_mutex);
    const auto it = m_report_sessions.find(r.cookie("ASP.NET_SessionId"));
    if (it == m_report_sessions.end() || !it->second) {
      return HttpResponse::html(html_page("登录", "<p>请先输入提取码 (log in first)</p>"));
    }
  }
  if (m_options.door == Door::jdyfy && m_options.cancelled) {
    return HttpResponse::html(
        html_page("提示", "<p class=\"error\">检查不存在 (study not found)</p>"));
  }
  return HttpResponse::html(
      html_page("正在打开影像", "<script type=\"text/javascript\">\n    window.location.href = '"
                                    + entry_url() + "';\n</script>"));
}

void
Replica::install_jdyfy_door()
{
  auto& s = *m_report;
  add_route(s, "phone", "GET", "/Report/PhoneCheck", [this](const HttpRequest& r) {
    if (r.param("idType") != "accessionnumber") {
      return HttpResponse::html(html_page("提示", "<p>参数错误</p>"));
    }
    std::string field =
        m_options.no_hidden_field
            ? "<input type=\"hidden\" id=\"ExamId\" name=\"ExamId\" value=\"" + m_sid + "\" />"
            : "<input type=\"hidden\" id=\"StudyId\" name=\"StudyId\" value=\"" + m_sid + "\" />";
    return HttpResponse::html(
        html_page("身份验证", "<form method=\"post\" action=\"/Report/PhoneCheck\">\n" + field
                                  + "\n<label>请输入手机号后四位</label>\n<input type=\"text\" "
                                    "id=\"Phone\" name=\"Phone\" />\n"
                                    "<button type=\"submit\">查看报告</button>\n</form>"));
  });
  add_route(s, "share", "GET", "/Report/Share", [](const HttpRequest&) {
    return HttpResponse::html(html_page("报告", "<p>报告</p>"));
  });
  add_route(s, "viewimage", "GET", "/Study/ViewImage",
            [this](const HttpRequest& r) { return view_image(r); });
}

void
Replica::install_cq12320_door()
{
  auto& s = *m_report;
  const std::string base = k_cq_base;
  add_route(s, "home", "GET", base + "/", [this](const HttpRequest&) {
    return HttpResponse::html(html_page("重庆市卫健委", "<div id=\"app\"></div>"))
        .header("Set-Cookie",
                cookie_header("SF_cookie_15",
                              hash_hex("sf|" + m_study.study_instance_uid).substr(0, 8)));
  });
  add_route(s, "check", "POST", base + "/api/share/check/time", [this](const HttpRequest& r) {
    const auto refuse = [](int code, const std::string& message) {
      return HttpResponse::json(
          nlohmann::json{{"code", code}, {"message", message}, {"data", nullptr}}.dump());
    };
    if (m_options.require_sf_cookie && r.cookie("SF_cookie_15").empty()) {
      return refuse(401, "非法请求 (no SF_cookie_15)");
    }
    nlohmann::json body;
    try {
      body = nlohmann::json::parse(r.body);
    } catch (const std::exception&) {
      return refuse(400, "参数错误");
    }
    if (body.value("share_id", "") != m_cq_share_id || body.value("content", "") != m_cq_content) {
      return refuse(500, "分享不存在或已过期");
    }
    if (m_options.cancelled) {
      return refuse(500, "分享已取消");
    }
    const nlohmann::json extend = {{"study_primary_id", m_cq_study_primary_id},
                                   {"hospital_code", m_cq_hospital_code},
                                   {"share_type", 1}};
    return HttpResponse::json(
        nlohmann::json{{"code", 200}, {"message", "success"}, {"data", {{"extend", extend.dump()}}}}
            .dump());
  });
  add_route(s, "pacsentry", "GET", std::string(k_cq_prefix) + "/api/ch/report/PacsEntry.aspx",
            [this](const HttpRequest& r) {
              if (r.param("hospitalCode") != m_cq_hospital_code
                  || r.param("studyPrimaryId") != m_cq_study_primary_id) {
                return HttpResponse::html(html_page("404", "<h1>404</h1>"), 404);
              }
              return HttpResponse::redirect(std::string(k_cq_prefix)
                                            + "/entry/study?token=" + percent_encode(m_token));
            });
  add_route(s, "entry", "GET", std::string(k_cq_prefix) + "/entry/study",
            [this](const HttpRequest& r) { return entry(r, "TARGET_URL"); });
}

// --- the viewer ----------------------------------------------------------------

std::vector<std::string>
Replica::viewer_cookies() const
{
  return {cookie_header("ZFP_SessionId", m_zfp_session, "; HttpOnly"),
          cookie_header("ZFPXAUTH", m_zfpxauth, "; HttpOnly")};
}

bool
Replica::has_viewer_auth(const HttpRequest& r) const
{
  return r.cookie("ZFPXAUTH") == m_zfpxauth && r.cookie("ZFP_SessionId") == m_zfp_session;
}

bool
Replica::has_cac_auth(const HttpRequest& r) const
{
  std::lock_guard lock(m_mutex);
  const auto it = m_cac.find(r.cookie("CAC_AUTH"));
  return it != m_cac.end() && std::chrono::steady_clock::now() < it->second;
}

std::string
Replica::new_cac_auth()
{
  std::lock_guard lock(m_mutex);
  const auto value = base64(hash_bytes("cac|" + std::to_string(++m_counter)));
  m_cac[value] = std::chrono::steady_clock::now() + m_options.cac_ttl;
  return value;
}

HttpResponse
Replica::entry(const HttpRequest& r, const char* var_name)
{
  if (r.param("token") != m_token) {
    return HttpResponse::html(
        html_page("错误", "<p class=\"error\">令牌无效或已过期 (invalid token)</p>"));
  }
  auto response = HttpResponse::html(
      html_page("影像", "<script type=\"text/javascript\">\n    var " + std::string(var_name)
                            + " = \"" + studyview_path()
                            + "\";\n    window.location.href = " + var_name + ";\n</script>"));
  for (const auto& c : viewer_cookies()) {
    response.header("Set-Cookie", c);
  }
  return response;
}

HttpResponse
Replica::study_view(const HttpRequest& r)
{
  if (!has_viewer_auth(r)) {
    return HttpResponse::html(html_page("401", "<h1>401 Unauthorized</h1>"), 401);
  }
  if (r.param("studyId") != m_sid) {
    return HttpResponse::html(html_page("404", "<h1>404</h1>"), 404);
  }
  std::vector<std::string> vars = {
      "    var STUDY_ID = \"" + m_study.study_id + "\";",
      "    var ACCESSION_NUMBER = \"" + m_study.accession_number + "\";",
      "    var STUDY_EXAM_UID = \"" + m_study.exam_uid + "\";",
      "    var LOAD_IMAGE_CACHE_KEY = \"" + m_cache_key + "\";",
  };
  if (m_options.shuffle_vars) {
    vars = {vars[3], vars[2], vars[0], vars[1]};
  }
  std::string script = "<script type=\"text/javascript\">\n    var APP_VERSION = \"7.2.0.1143\";\n";
  for (std::size_t i = 0; i < vars.size(); ++i) {
    script += vars[i] + "\n";
    if (i == 1) {
      script += "    var LANGUAGE = \"zh-CN\";\n";
    }
  }
  script += "    var SHOW_TOOLBAR = \"1\";\n</script>";
  return HttpResponse::html(html_page("影像浏览", script + "\n<div id=\"viewer\"></div>"))
      .header("Set-Cookie", cookie_header("CAC_AUTH", new_cac_auth(), "; HttpOnly"));
}

HttpResponse
Replica::image_set(const HttpRequest& r)
{
  if (!has_viewer_auth(r)) {
    return HttpResponse::html(html_page("401", "<h1>401 Unauthorized</h1>"), 401);
  }
  if (r.param("studyId") != m_study.study_id
      || r.param("accessionNumber") != m_study.accession_number
      || r.param("examuid") != m_study.exam_uid) {
    auto error = HttpResponse::json(R"({"message":"An error has occurred."})");
    error.status = 500;
    return error;
  }
  nlohmann::json j;
  j["patientName"] = m_study.patient_name;
  j["patientId"] = m_study.patient_id;
  j["studyDescription"] = m_study.description;
  j["studyDate"] = m_study.date_time;
  j["accessionNumber"] = m_study.accession_number;
  j["storageNode"] =
      m_options.storage_node ? nlohmann::json(*m_options.storage_node) : nlohmann::json(nullptr);
  auto sets = nlohmann::json::array();
  for (const auto& s : m_study.series) {
    nlohmann::json ds;
    ds["description"] = s.description;
    ds["seriesNumber"] = s.number ? nlohmann::json(*s.number) : nlohmann::json(nullptr);
    ds["modality"] = s.modality;
    ds["imageCount"] = s.instances.size();
    auto images = nlohmann::json::array();
    for (const auto& i : s.instances) {
      images.push_back({{"studyId", m_study.study_id},
                        {"imageId", i.image_id},
                        {"instanceNumber", i.instance_number ? nlohmann::json(*i.instance_number)
                                                             : nlohmann::json(nullptr)},
                        {"frameCount", 1}});
    }
    ds["images"] = images;
    sets.push_back(ds);
  }
  // The "patient protocol" pseudo image: tags [], pixels a PNG.
  sets.push_back({{"description", "Patient Protocol"},
                  {"seriesNumber", 999},
                  {"modality", "OT"},
                  {"imageCount", 1},
                  {"images",
                   {{{"studyId", m_study.study_id},
                     {"imageId", m_pseudo_id},
                     {"instanceNumber", 1},
                     {"frameCount", 1}}}}});
  j["displaySets"] = sets;
  return HttpResponse::json(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

const Instance*
Replica::find_image(const std::string& image_id) const
{
  for (const auto& s : m_study.series) {
    for (const auto& i : s.instances) {
      if (i.image_id == image_id) {
        return &i;
      }
    }
  }
  return nullptr;
}

HttpResponse
Replica::tags(const HttpRequest& r)
{
  if (!has_cac_auth(r)) {
    return HttpResponse::html(html_page("401", "<h1>401 Unauthorized (CAC_AUTH)</h1>"), 401);
  }
  if (r.param("studyId") != m_study.study_id || r.param("frame") != "0"
      || r.param("storageNodes") != m_options.storage_node.value_or("")) {
    return HttpResponse::html(html_page("404", "<h1>404</h1>"), 404);
  }
  const auto image_id = r.param("imageId");
  if (image_id == m_pseudo_id) {
    return HttpResponse::json("[]");
  }
  const Instance* instance = find_image(image_id);
  if (instance == nullptr) {
    return HttpResponse::html(html_page("404", "<h1>404</h1>"), 404);
  }
  return HttpResponse::json(instance->tags_json);
}

HttpResponse
Replica::pixels(const HttpRequest& r, bool raw)
{
  const std::string prefix =
      m_options.prefix + (raw ? "/imageservice/api/image/dicom/" : "/imageservice/api/image/j2k/");
  const auto parts = segments_after(r.path, prefix);
  if (r.param("ck") != m_cache_key) {
    return HttpResponse::html(html_page("403", "<h1>403 Forbidden</h1>"), 403);
  }
  if (!has_cac_auth(r)) {
    return HttpResponse::html(html_page("401", "<h1>401 Unauthorized (CAC_AUTH)</h1>"), 401);
  }
  if (parts.size() != 4 || parts[0] != m_study.study_id || parts[2] != "0"
      || r.param("storageNodes") != m_options.storage_node.value_or("")) {
    return HttpResponse::html(html_page("404", "<h1>404</h1>"), 404);
  }
  if (parts[1] == m_pseudo_id) {
    return HttpResponse::binary(tiny_png(), "image/png")
        .header("X-ImageFrame", R"({"rows":1,"columns":1,"bitsAllocated":8,"samplesPerPixel":1})");
  }
  const Instance* instance = find_image(parts[1]);
  if (instance == nullptr || !instance->j2k) {
    return HttpResponse::html(html_page("404", "<h1>404</h1>"), 404);
  }
  auto response = raw ? HttpResponse::binary(*instance->native, "application/octet-stream")
                      : HttpResponse::binary(*instance->j2k, "image/jp2");
  return response.header("X-ImageFrame", instance->image_frame)
      .header("Cache-Control", "max-age=86400");
}

void
Replica::install_viewer(testutil::HttpServer& s, bool with_entry)
{
  const auto& p = m_options.prefix;
  if (with_entry) {
    add_route(s, "entry", "GET", "/entry/viewimage",
              [this](const HttpRequest& r) { return entry(r, "TARGET_PATH"); });
  }
  add_route(s, "studyview", "GET", p + "/ImageViewer/StudyView",
            [this](const HttpRequest& r) { return study_view(r); });
  add_route(s, "imageset", "GET", p + "/ImageViewer/GetImageSet",
            [this](const HttpRequest& r) { return image_set(r); });
  add_route(s, "renew", "GET", p + "/ImageViewer/renewcacauth", [this](const HttpRequest& r) {
    if (!has_viewer_auth(r)) {
      return HttpResponse::html(html_page("401", "<h1>401 Unauthorized</h1>"), 401);
    }
    return HttpResponse::json(R"({"success":true})")
        .header("Set-Cookie", cookie_header("CAC_AUTH", new_cac_auth(), "; HttpOnly"));
  });
  add_route(s, "tags", "GET", p + "/ImageViewer/GetImageDicomTags",
            [this](const HttpRequest& r) { return tags(r); });
  add_route(s, "j2k", "GET", p + "/imageservice/api/image/j2k/*",
            [this](const HttpRequest& r) { return pixels(r, false); });
  add_route(s, "raw", "GET", p + "/imageservice/api/image/dicom/*",
            [this](const HttpRequest& r) { return pixels(r, true); });
}

// --- control (platforms.md 8.1) -----------------------------------------------

void
Replica::install_control(testutil::HttpServer& s)
{
  s.route("GET", "/__control/log",
          [this](const HttpRequest&) { return HttpResponse::json(log().dump()); });
  s.route("GET", "/__control/info",
          [this](const HttpRequest&) { return HttpResponse::json(info().dump()); });
  s.route("*", "/__control/reset", [this](const HttpRequest&) {
    m_report->reset();
    m_viewer->reset();
    for (const auto& spec : m_options.faults) {
      add_fault(spec);
    }
    return HttpResponse::json(R"({"ok":true})");
  });
  s.route("*", "/__control/fault", [this](const HttpRequest& r) {
    try {
      add_fault(r.param("spec"));
    } catch (const std::exception& e) {
      return HttpResponse::text(std::string(e.what()) + "\n", 400);
    }
    return HttpResponse::json(R"({"ok":true})");
  });
  s.route("*", "/__control/clear_faults", [this](const HttpRequest&) {
    m_report->clear_faults();
    m_viewer->clear_faults();
    return HttpResponse::json(R"({"ok":true})");
  });
  s.route("GET", "/__control/stats", [this](const HttpRequest&) {
    nlohmann::json j;
    for (const auto& [name, server] :
         {std::pair<const char*, testutil::HttpServer*>{"report", m_report.get()},
          {"viewer", m_viewer.get()}}) {
      j[name] = {{"connections", server->connections()},
                 {"peak_in_flight", server->peak_in_flight()},
                 {"requests", server->requests().size()}};
    }
    return HttpResponse::json(j.dump());
  });
}

nlohmann::json
Replica::info() const
{
  nlohmann::json j;
  j["report"] = m_report->port();
  j["viewer"] = m_viewer->port();
  j["host"] = m_options.host;
  j["password"] = m_options.password;
  j["study_uid"] = m_study.study_instance_uid;
  j["study_id"] = m_study.study_id;
  j["pseudo_image_id"] = m_pseudo_id;
  nlohmann::json urls;
  switch (m_options.door) {
  case Door::hinacom:
    j["door"] = "hinacom";
    j["share_url"] = report_origin() + "/t/" + m_share_id;
    urls["unknown"] = report_origin() + "/t/" + hash_hex("nosuchshare");
    break;
  case Door::cq12320:
    j["door"] = "cq12320";
    j["share_url"] = report_origin() + k_cq_base + "/#/share/detail?share_id=" + m_cq_share_id
                     + "&content=" + m_cq_content + "&channel=share";
    urls["unknown"] = report_origin() + k_cq_base + "/#/share/detail?share_id="
                      + hash_hex("nosuchshare") + "&content=" + m_cq_content + "&channel=share";
    break;
  case Door::jdyfy:
    j["door"] = "jdyfy";
    j["share_url"] = report_origin() + "/Report/PhoneCheck?idType=accessionnumber&accessionNumber="
                     + percent_encode(m_study.accession_number) + "&hospitalId=1";
    urls["return_url"] = report_origin() + "/Report/Share?idType=studyid&returnUrl="
                         + percent_encode(view_image_url());
    urls["return_empty"] = view_image_url() + "&idType=studyid&returnUrl=";
    urls["no_id_type"] = report_origin() + "/Report/PhoneCheck?accessionNumber="
                         + percent_encode(m_study.accession_number);
    break;
  }
  j["share_urls"] = urls;
  nlohmann::json routes;
  for (const auto& [name, route] : m_routes) {
    routes[name] = {{"server", route.server == m_report.get() ? "report" : "viewer"},
                    {"pattern", route.pattern}};
  }
  j["routes"] = routes;
  auto images = nlohmann::json::array();
  for (const auto& s : m_study.series) {
    for (const auto& i : s.instances) {
      images.push_back({{"image_id", i.image_id},
                        {"sop_instance_uid", i.sop_instance_uid},
                        {"series_instance_uid", s.series_instance_uid},
                        {"file", i.file.string()}});
    }
  }
  j["images"] = images;
  return j;
}

nlohmann::json
Replica::log() const
{
  struct Entry
  {
    const char* server;
    HttpRequest request;
  };
  std::vector<Entry> all;
  for (const auto& r : m_report->requests()) {
    all.push_back({"report", r});
  }
  for (const auto& r : m_viewer->requests()) {
    all.push_back({"viewer", r});
  }
  std::stable_sort(all.begin(), all.end(),
                   [](const Entry& a, const Entry& b) { return a.request.time < b.request.time; });
  std::map<std::pair<const testutil::HttpServer*, std::string>, std::string> names;
  for (const auto& [name, route] : m_routes) {
    names[{route.server, route.pattern}] = name;
  }
  auto out = nlohmann::json::array();
  for (const auto& e : all) {
    if (e.request.path.rfind("/__control/", 0) == 0) {
      continue;
    }
    const auto* server = std::string(e.server) == "report" ? m_report.get() : m_viewer.get();
    const auto name = names.find({server, e.request.route});
    auto headers = nlohmann::json::object();
    for (const auto& [k, v] : e.request.headers) {
      headers[k] = v;
    }
    out.push_back({{"server", e.server},
                   {"method", e.request.method},
                   {"path", e.request.path},
                   {"query", e.request.query},
                   {"cookies", cookies_of(e.request)},
                   {"headers", headers},
                   {"route", name == names.end() ? std::string() : name->second},
                   {"number", e.request.number},
                   {"connection", e.request.connection},
                   {"time", std::chrono::duration<double>(e.request.time - m_start).count()}});
  }
  return out;
}

} // namespace replica
