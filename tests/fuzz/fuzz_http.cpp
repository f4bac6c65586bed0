// SPDX-License-Identifier: GPL-3.0-or-later
// (m) The HTTP side's own parsing of outside input (Beast parses the
// protocol): request targets and percent-decoding, then the guard's Host,
// Origin, bearer and cookie checks on headers cut from the input.
#include "fuzz_common.hpp"

#include <web/message.hpp>
#include <web/security.hpp>

extern "C" int
LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  cf_fuzz::init();
  static const config::Http http = [] {
    config::Http h;
    h.tokens.push_back(web::hash_token("token"));
    h.hosts.push_back("pacs.example");
    return h;
  }();
  static web::Guard guard(http);
  const std::string input(reinterpret_cast<const char*>(data), size);
  // Fields separated by '\n': target, method, host, origin, authorization, cookie.
  std::vector<std::string> f;
  std::size_t pos = 0;
  while (f.size() < 6) {
    const auto end = input.find('\n', pos);
    f.push_back(input.substr(pos, end == std::string::npos ? std::string::npos : end - pos));
    if (end == std::string::npos) {
      break;
    }
    pos = end + 1;
  }
  f.resize(6);
  web::Request r;
  if (!web::parse_target(f[0], r.path, r.query)) {
    return 0;
  }
  r.method = f[1];
  r.headers["host"] = f[2];
  r.headers["origin"] = f[3];
  r.headers["authorization"] = f[4];
  r.headers["cookie"] = f[5];
  (void)guard.check(r);
  (void)web::is_uid(r.path);
  return 0;
}
