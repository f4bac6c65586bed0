// SPDX-License-Identifier: GPL-3.0-or-later
// Who may talk to the HTTP side (WEB.md 6): the Host check against DNS
// rebinding, the Origin check against cross-site writes, and accounts
// (hashed passwords, hashed API tokens, session cookies).
#pragma once

#include "message.hpp"

#include <config/config.hpp>

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace web {

// "pbkdf2-sha256$<iterations>$<salt b64>$<hash b64>" for `password`.
std::string hash_password(const std::string& password);
bool verify_password(const std::string& password, const std::string& hash);
// "sha256:<hex>" for an API token.
std::string hash_token(const std::string& token);

class Guard
{
public:
  explicit Guard(const config::Http& http);

  bool auth_enabled() const { return m_auth; }

  // nullopt when `request` may go on (request.user set when auth is on),
  // else the refusal to send.
  std::optional<Response> check(Request& request);

  // POST /api/login: a session cookie, or 401 (429 after too many tries).
  Response login(const Request& request);
  Response logout(const Request& request);

private:
  bool host_allowed(const std::string& host) const;
  std::string session_user(const Request& request);

  struct Session
  {
    std::string user;
    std::chrono::steady_clock::time_point expires;
  };
  struct Failures
  {
    int count = 0;
    std::chrono::steady_clock::time_point since;
  };

  const config::Http& m_http;
  bool m_auth = false;
  std::mutex m_mutex;
  std::map<std::string, Session> m_sessions;  // sha256(cookie) -> session
  std::map<std::string, Failures> m_failures; // remote address -> failed logins
};

} // namespace web
