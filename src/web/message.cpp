// SPDX-License-Identifier: GPL-3.0-or-later
// Request and response helpers of the HTTP side.
#include "message.hpp"

#include "json.hpp"

#include <http/url.hpp>

#include <nlohmann/json.hpp>

#include <cctype>

namespace web {

namespace {

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
  return json_response(status, dump(j));
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
  // http::url_decode keeps a malformed escape as it is; a request must not
  // have one, nor a NUL byte once decoded.
  for (std::size_t i = in.find('%'); i != std::string::npos; i = in.find('%', i + 1)) {
    if (i + 2 >= in.size() || !std::isxdigit(static_cast<unsigned char>(in[i + 1]))
        || !std::isxdigit(static_cast<unsigned char>(in[i + 2]))) {
      return false;
    }
  }
  out = http::url_decode(in, plus_is_space);
  return out.find('\0') == std::string::npos;
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
