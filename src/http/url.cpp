// SPDX-License-Identifier: GPL-3.0-or-later
#include "url.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <optional>

namespace http {

namespace {

bool
is_unreserved(unsigned char c)
{
  return std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_' || c == '~';
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
lower_ascii(std::string text)
{
  for (auto& c : text) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return text;
}

struct UrlDeleter
{
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
using UrlHandle = std::unique_ptr<CURLU, UrlDeleter>;

// `url` parsed by libcurl, or null when it is not an absolute URL.
UrlHandle
parse_absolute(const std::string& url)
{
  UrlHandle handle(curl_url());
  if (!handle
      || curl_url_set(handle.get(), CURLUPART_URL, url.c_str(),
                      CURLU_NON_SUPPORT_SCHEME | CURLU_ALLOW_SPACE)
             != CURLUE_OK) {
    return nullptr;
  }
  return handle;
}

std::string
get_part(CURLU* url, CURLUPart part, unsigned flags = 0)
{
  char* text = nullptr;
  if (curl_url_get(url, part, &text, flags) != CURLUE_OK || text == nullptr) {
    return {};
  }
  std::string out = text;
  curl_free(text);
  return out;
}

// A URI reference split as in RFC 3986 Appendix B. Components that are
// absent (as opposed to empty) are nullopt, which 5.2.2 distinguishes.
struct Reference
{
  std::optional<std::string> scheme;
  std::optional<std::string> authority;
  std::string path;
  std::optional<std::string> query;
  std::optional<std::string> fragment;
};

Reference
split_reference(std::string_view text)
{
  Reference ref;
  // scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), then ':' before
  // any '/', '?' or '#'.
  const auto colon = text.find_first_of(":/?#");
  if (colon != std::string_view::npos && colon > 0 && text[colon] == ':'
      && std::isalpha(static_cast<unsigned char>(text[0])) != 0) {
    bool valid = true;
    for (std::size_t i = 1; i < colon; ++i) {
      const auto c = static_cast<unsigned char>(text[i]);
      valid = valid && (std::isalnum(c) != 0 || c == '+' || c == '-' || c == '.');
    }
    if (valid) {
      ref.scheme = std::string(text.substr(0, colon));
      text.remove_prefix(colon + 1);
    }
  }
  if (const auto hash = text.find('#'); hash != std::string_view::npos) {
    ref.fragment = std::string(text.substr(hash + 1));
    text = text.substr(0, hash);
  }
  if (const auto question = text.find('?'); question != std::string_view::npos) {
    ref.query = std::string(text.substr(question + 1));
    text = text.substr(0, question);
  }
  if (text.substr(0, 2) == "//") {
    const auto slash = text.find('/', 2);
    const auto length = slash == std::string_view::npos ? slash : slash - 2;
    ref.authority = std::string(text.substr(2, length));
    text = slash == std::string_view::npos ? std::string_view() : text.substr(slash);
  }
  ref.path = std::string(text);
  return ref;
}

// RFC 3986 5.2.4.
std::string
remove_dot_segments(std::string_view input)
{
  std::string output;
  while (!input.empty()) {
    if (input.substr(0, 3) == "../") {
      input.remove_prefix(3);
    } else if (input.substr(0, 2) == "./") {
      input.remove_prefix(2);
    } else if (input.substr(0, 3) == "/./") {
      input.remove_prefix(2);
    } else if (input == "/.") {
      input = "/";
    } else if (input.substr(0, 4) == "/../" || input == "/..") {
      input = input.size() == 3 ? std::string_view("/") : input.substr(3);
      const auto last = output.rfind('/');
      output.erase(last == std::string::npos ? 0 : last);
    } else if (input == "." || input == "..") {
      input = {};
    } else {
      const auto next = input.find('/', input[0] == '/' ? 1 : 0);
      output.append(input.substr(0, next));
      input = next == std::string_view::npos ? std::string_view() : input.substr(next);
    }
  }
  return output;
}

// RFC 3986 5.2.3.
std::string
merge_paths(const Reference& base, const std::string& ref_path)
{
  if (base.authority && base.path.empty()) {
    return "/" + ref_path;
  }
  const auto slash = base.path.rfind('/');
  return slash == std::string::npos ? ref_path : base.path.substr(0, slash + 1) + ref_path;
}

// RFC 3986 5.3.
std::string
recompose(const Reference& ref)
{
  std::string out;
  if (ref.scheme) {
    out += *ref.scheme + ":";
  }
  if (ref.authority) {
    out += "//" + *ref.authority;
  }
  out += ref.path;
  if (ref.query) {
    out += "?" + *ref.query;
  }
  if (ref.fragment) {
    out += "#" + *ref.fragment;
  }
  return out;
}

} // namespace

std::string
url_decode(std::string_view text, bool plus_is_space)
{
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '+' && plus_is_space) {
      out += ' ';
    } else if (c == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0
               && hex_value(text[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

std::string
url_encode(const std::string& text)
{
  static const char k_hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() * 3);
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (is_unreserved(byte)) {
      out += c;
    } else {
      out += '%';
      out += k_hex[byte >> 4];
      out += k_hex[byte & 0x0F];
    }
  }
  return out;
}

std::map<std::string, std::string>
query_after_last_question_mark(const std::string& url)
{
  std::map<std::string, std::string> out;
  const auto question = url.rfind('?');
  if (question == std::string::npos) {
    return out;
  }
  std::string_view query(url);
  query.remove_prefix(question + 1);
  query = query.substr(0, query.find('#'));
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) {
      continue;
    }
    const auto equals = pair.find('=');
    auto name = url_decode(pair.substr(0, equals), true);
    auto value = equals == std::string_view::npos ? std::string()
                                                  : url_decode(pair.substr(equals + 1), true);
    out.emplace(std::move(name), std::move(value)); // the first of repeated names wins
  }
  return out;
}

std::string
origin_of(const std::string& url)
{
  const auto parsed = parse_absolute(url);
  if (!parsed) {
    return {};
  }
  std::string out = lower_ascii(get_part(parsed.get(), CURLUPART_SCHEME)) + "://"
                    + lower_ascii(get_part(parsed.get(), CURLUPART_HOST));
  // Only an explicit, non-default port: http://h:80/ and http://h/ are one origin.
  if (const auto port = get_part(parsed.get(), CURLUPART_PORT, CURLU_NO_DEFAULT_PORT);
      !port.empty()) {
    out += ":" + port;
  }
  return out;
}

std::string
host_of(const std::string& url)
{
  const auto parsed = parse_absolute(url);
  return parsed ? lower_ascii(get_part(parsed.get(), CURLUPART_HOST)) : std::string();
}

std::string
resolve_url(const std::string& base_url, const std::string& ref_url)
{
  // Written out from RFC 3986 5.2.2 rather than left to curl_url(): libcurl
  // 7.88 resolves "#s" and "" wrongly, and a base whose fragment holds a
  // path ("https://h/#/home?x") makes it resolve inside the fragment.
  const Reference base = split_reference(base_url);
  const Reference ref = split_reference(ref_url);
  Reference target;
  if (ref.scheme) {
    target = ref;
    target.path = remove_dot_segments(ref.path);
  } else {
    if (ref.authority) {
      target.authority = ref.authority;
      target.path = remove_dot_segments(ref.path);
      target.query = ref.query;
    } else {
      if (ref.path.empty()) {
        target.path = base.path;
        target.query = ref.query ? ref.query : base.query;
      } else {
        target.path = ref.path[0] == '/' ? remove_dot_segments(ref.path)
                                         : remove_dot_segments(merge_paths(base, ref.path));
        target.query = ref.query;
      }
      target.authority = base.authority;
    }
    target.scheme = base.scheme;
  }
  target.fragment = ref.fragment;
  return recompose(target);
}

std::string
redact_url(const std::string& url)
{
  std::string out = url.substr(0, url.find_first_of("?#"));
  // user:password@ in the authority.
  if (const auto scheme_end = out.find("://"); scheme_end != std::string::npos) {
    const auto authority = scheme_end + 3;
    const auto path = std::min(out.find('/', authority), out.size());
    if (const auto at = out.rfind('@', path); at != std::string::npos && at >= authority) {
      out.erase(authority, at + 1 - authority);
    }
  }
  // Hinacom share links: /t/<32 hex digits> is the capability itself.
  constexpr std::size_t k_token = 32;
  for (auto pos = out.find("/t/"); pos != std::string::npos; pos = out.find("/t/", pos + 1)) {
    const std::size_t first = pos + 3;
    std::size_t end = first;
    while (end < out.size() && hex_value(out[end]) >= 0) {
      ++end;
    }
    if (end - first == k_token && (end == out.size() || out[end] == '/')) {
      out.replace(first, k_token, "<token>");
    }
  }
  return out;
}

const char*
redirect_protocols(const std::string& url)
{
  return lower_ascii(url.substr(0, 8)) == "https://" ? "https" : "http,https";
}

std::string
redact_urls_in(const std::string& text)
{
  std::string out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto start = text.find("http", pos);
    if (start == std::string::npos) {
      break;
    }
    const bool is_url =
        text.compare(start, 7, "http://") == 0 || text.compare(start, 8, "https://") == 0;
    auto end = start;
    while (end < text.size() && text[end] != ' ' && text[end] != '\t' && text[end] != '"'
           && text[end] != '\'' && text[end] != '\n' && text[end] != '>' && text[end] != ')') {
      ++end;
    }
    if (!is_url) {
      end = start + 4;
      out.append(text, pos, end - pos);
      pos = end;
      continue;
    }
    out.append(text, pos, start - pos);
    out += redact_url(text.substr(start, end - start));
    pos = end;
  }
  out.append(text, pos, std::string::npos);
  return out;
}

} // namespace http
