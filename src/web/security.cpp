// SPDX-License-Identifier: GPL-3.0-or-later
// Host, Origin and account checks of the HTTP side.
#include "security.hpp"

#include <core/base64.hpp>
#include <core/crypto.hpp>
#include <core/log.hpp>
#include <core/strings.hpp>

#include <nlohmann/json.hpp>

namespace web {

namespace {

constexpr int k_iterations = 200000;
constexpr int k_max_failures = 5; // per address and minute
const std::string k_cookie = "cf_session";

std::string
hex(const std::string& bytes)
{
  return core::to_hex(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
}

// The host part of a Host header value ("[::1]:8080" -> "[::1]").
std::string
host_part(const std::string& value)
{
  if (!value.empty() && value[0] == '[') {
    const auto end = value.find(']');
    return end == std::string::npos ? value : value.substr(0, end + 1);
  }
  return core::to_lower_ascii(value.substr(0, value.find(':')));
}

std::string
cookie_value(const std::string& header, const std::string& name)
{
  for (const auto& part : core::split(header, ';')) {
    const auto item = std::string(core::trim(part));
    if (item.size() > name.size() && item.compare(0, name.size(), name) == 0
        && item[name.size()] == '=') {
      return item.substr(name.size() + 1);
    }
  }
  return {};
}

bool
is_unsafe(const std::string& method)
{
  return method != "GET" && method != "HEAD" && method != "OPTIONS";
}

} // namespace

std::string
hash_password(const std::string& password)
{
  const auto salt = core::random_bytes(16);
  const auto hash = core::pbkdf2_sha256(password, salt, k_iterations, 32);
  return "pbkdf2-sha256$" + std::to_string(k_iterations) + "$" + core::base64_encode(salt) + "$"
         + core::base64_encode(hash);
}

bool
verify_password(const std::string& password, const std::string& hash)
{
  const auto parts = core::split(hash, '$');
  if (parts.size() != 4 || parts[0] != "pbkdf2-sha256") {
    return false;
  }
  int iterations = 0;
  try {
    iterations = std::stoi(parts[1]);
  } catch (...) {
    return false;
  }
  std::string salt;
  std::string want;
  if (iterations < 1000 || !core::base64_decode(parts[2], salt)
      || !core::base64_decode(parts[3], want) || want.empty()) {
    return false;
  }
  return core::equal_constant_time(core::pbkdf2_sha256(password, salt, iterations, want.size()),
                                   want);
}

std::string
hash_token(const std::string& token)
{
  return "sha256:" + hex(core::sha256(token));
}

Guard::Guard(const config::Http& http)
    : m_http(http), m_auth(!http.users.empty() || !http.tokens.empty())
{
}

bool
Guard::host_allowed(const std::string& value) const
{
  const auto host = host_part(value);
  if (host == "localhost" || host == "127.0.0.1" || host == "[::1]") {
    return true;
  }
  const auto bind =
      m_http.bind.find(':') != std::string::npos ? "[" + m_http.bind + "]" : m_http.bind;
  if (host == bind && m_http.bind != "0.0.0.0" && m_http.bind != "::") {
    return true;
  }
  for (const auto& h : m_http.hosts) {
    if (core::iequals_ascii(host, h)) {
      return true;
    }
  }
  return false;
}

std::string
Guard::session_user(const Request& request)
{
  const auto cookie = cookie_value(request.header("cookie"), k_cookie);
  if (cookie.empty()) {
    return {};
  }
  const auto key = core::sha256(cookie);
  std::lock_guard<std::mutex> lock(m_mutex);
  const auto it = m_sessions.find(key);
  if (it == m_sessions.end()) {
    return {};
  }
  if (it->second.expires < std::chrono::steady_clock::now()) {
    m_sessions.erase(it);
    return {};
  }
  return it->second.user;
}

std::optional<Response>
Guard::check(Request& request)
{
  // WEB.md 6.2.1: a loopback node must not answer pages that reach it under
  // another name (DNS rebinding).
  const auto& host = request.header("host");
  if (host.empty() || !host_allowed(host)) {
    return error_response(421, "bad_host",
                          "the Host header does not name this node; add the name to http.hosts");
  }
  // WEB.md 6.2.3: browsers send Origin on cross-site writes; only our own
  // origin may change anything.
  if (is_unsafe(request.method)) {
    const auto& origin = request.header("origin");
    if (!origin.empty() && origin != "http://" + host && origin != "https://" + host) {
      return error_response(403, "bad_origin",
                            "requests that change data must come from the node's own page");
    }
  }
  if (!m_auth || request.path == "/api/login" || request.path == "/api/me" || request.path == "/"
      || request.path.rfind("/ui/", 0) == 0) {
    if (m_auth) {
      request.user = session_user(request);
    }
    return std::nullopt;
  }
  const auto& authorization = request.header("authorization");
  if (authorization.size() > 7 && core::iequals_ascii(authorization.substr(0, 7), "Bearer ")) {
    const auto hashed = hash_token(std::string(core::trim(authorization.substr(7))));
    for (const auto& t : m_http.tokens) {
      if (core::equal_constant_time(hashed, t)) {
        request.user = "token";
        return std::nullopt;
      }
    }
    return error_response(401, "auth_required", "the API token is not valid");
  }
  request.user = session_user(request);
  if (request.user.empty()) {
    auto r = error_response(401, "auth_required", "log in first (POST /api/login)");
    r.set("WWW-Authenticate", "Bearer");
    return r;
  }
  return std::nullopt;
}

Response
Guard::login(const Request& request)
{
  if (!m_auth) {
    return error_response(400, "bad_request", "this node has no accounts (http.users)");
  }
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    auto& f = m_failures[request.remote];
    if (now - f.since > std::chrono::minutes(1)) {
      f = Failures{0, now};
    }
    if (f.count >= k_max_failures) {
      return error_response(429, "busy", "too many failed logins; wait a minute");
    }
  }
  nlohmann::json body = nlohmann::json::parse(request.body, nullptr, false);
  if (!body.is_object() || !body.contains("user") || !body["user"].is_string()
      || !body.contains("password") || !body["password"].is_string()) {
    return error_response(400, "bad_json", "expected {\"user\": ..., \"password\": ...}");
  }
  const auto user = body["user"].get<std::string>();
  const auto it = m_http.users.find(user);
  // Verify against a dummy hash for unknown users too: equal time.
  static const std::string k_dummy = hash_password("dummy");
  const bool ok = verify_password(body["password"].get<std::string>(),
                                  it == m_http.users.end() ? k_dummy : it->second)
                  && it != m_http.users.end();
  if (!ok) {
    std::lock_guard<std::mutex> lock(m_mutex);
    ++m_failures[request.remote].count;
    CF_LOG(warn, "web", "failed login from " << request.remote);
    return error_response(401, "auth_required", "wrong user name or password");
  }
  const auto cookie = hex(core::random_bytes(32));
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_sessions[core::sha256(cookie)] =
        Session{user, now + std::chrono::hours(m_http.session_hours)};
  }
  CF_LOG(info, "web", "login of '" << user << "' from " << request.remote);
  Response r;
  r.status = 204;
  r.set("Set-Cookie", k_cookie + "=" + cookie + "; HttpOnly; SameSite=Strict; Path=/");
  return r;
}

Response
Guard::logout(const Request& request)
{
  const auto cookie = cookie_value(request.header("cookie"), k_cookie);
  if (!cookie.empty()) {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_sessions.erase(core::sha256(cookie));
  }
  Response r;
  r.status = 204;
  r.set("Set-Cookie", k_cookie + "=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
  return r;
}

} // namespace web
