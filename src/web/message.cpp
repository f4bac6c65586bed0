// SPDX-License-Identifier: GPL-3.0-or-later
// Request and response helpers of the HTTP side.
#include "message.hpp"

#include <nlohmann/json.hpp>

namespace web {

namespace {

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

const std::string k_empty;

} // namespace

const std::string&
Request::header(const std::string& lower_name) const
{
  const auto it = headers.find(lower_name);
  return it == headers.end() ? k_empty : it->second;
}

const std::string&
Request::param(const std::string& name) const
{
  const auto it = query.find(name);
  return it == query.end() ? k_empty : it->second;
}

void
Response::set(std::string name, std::string value)
{
  headers.emplace_back(std::move(name), std::move(value));
}

Response
error_response(int status, const std::string& code, const std::string& message)
{
  nlohmann::json j{{"error", {{"code", code}, {"message", message}}}};
  return json_response(status, j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

Response
json_response(int status, std::string json)
{
  Response r;
  r.status = status;
  r.body = std::move(json);
  return r;
}

bool
percent_decode(const std::string& in, std::string& out, bool plus_is_space)
{
  out.clear();
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) {
        return false;
      }
      const int hi = hex_value(in[i + 1]);
      const int lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
        return false;
      }
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else if (c == '\0') {
      return false;
    } else {
      out += c;
    }
  }
  return true;
}

bool
parse_target(const std::string& target, std::string& path,
             std::map<std::string, std::string>& query)
{
  if (target.empty() || target[0] != '/') {
    return false;
  }
  const auto q = target.find('?');
  if (!percent_decode(target.substr(0, q), path, false)) {
    return false;
  }
  query.clear();
  if (q == std::string::npos) {
    return true;
  }
  std::size_t pos = q + 1;
  while (pos <= target.size()) {
    auto end = target.find('&', pos);
    if (end == std::string::npos) {
      end = target.size();
    }
    const auto item = target.substr(pos, end - pos);
    if (!item.empty()) {
      const auto eq = item.find('=');
      std::string name;
      std::string value;
      if (!percent_decode(item.substr(0, eq), name, true)
          || !percent_decode(eq == std::string::npos ? "" : item.substr(eq + 1), value, true)) {
        return false;
      }
      query[name] = value;
    }
    pos = end + 1;
  }
  return true;
}

bool
is_uid(const std::string& text)
{
  return !text.empty() && text.size() <= 64
         && text.find_first_not_of("0123456789.") == std::string::npos;
}

} // namespace web
