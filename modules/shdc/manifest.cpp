// SPDX-License-Identifier: GPL-3.0-or-later
#include "manifest.hpp"

#include <core/strings.hpp>
#include <http/client.hpp>
#include <source/json_fields.hpp>
#include <source/source.hpp>

#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include <algorithm>
#include <memory>

namespace shdc {

using source::text_of;

namespace {

using source::Errc;

core::Result<nlohmann::json>
parse(const std::string& json)
{
  try {
    auto j = nlohmann::json::parse(json);
    if (!j.is_object()) {
      return core::make_error(Errc::upstream_changed, "answer is not a JSON object");
    }
    return j;
  } catch (const std::exception& e) {
    return core::make_error(Errc::upstream_changed, std::string("answer is not JSON: ") + e.what());
  }
}

} // namespace

std::string
md5_hex(const std::string& text)
{
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_md5(), nullptr) != 1
      || EVP_DigestUpdate(ctx.get(), text.data(), text.size()) != 1
      || EVP_DigestFinal_ex(ctx.get(), digest, &size) != 1) {
    throw std::runtime_error("OpenSSL MD5 failed");
  }
  return core::to_hex(digest, size);
}

std::string
signed_query(const Params& params, const std::string& key)
{
  std::string query;
  for (const auto& [k, v] : params) {
    query += (query.empty() ? "" : "&") + http::url_encode(k) + "=" + http::url_encode(v);
  }
  return query + "&sign=" + md5_hex(query + "&key=" + key);
}

std::string
file_authorization(const std::string& sid, const std::string& token, const std::string& ts_ms,
                   const std::string& name, const std::string& key)
{
  return "Basic " + sid + ";" + token + ";" + ts_ms + ";"
         + md5_hex(sid + ";" + token + ";" + ts_ms + ";" + name + ";" + key);
}

core::Result<void>
check_envelope(const std::string& json)
{
  auto j = parse(json);
  if (!j) {
    return j.error();
  }
  const auto code = j->find("code");
  if (code == j->end() || !code->is_number_integer()) {
    return core::make_error(Errc::upstream_changed, "answer has no numeric code");
  }
  const long c = code->get<long>();
  if (c == 0) {
    return {};
  }
  const auto msg = text_of(*j, "msg");
  const auto detail = "shdc code " + std::to_string(c) + (msg.empty() ? "" : ": " + msg);
  if (c == 1005) {
    return core::make_error(Errc::link_expired, detail + " (ask the patient to share again)");
  }
  if (msg.find("sign") != std::string::npos) {
    return core::make_error(Errc::upstream_changed,
                            detail + " (the signing key may have changed: option key)");
  }
  return core::make_error(Errc::auth_rejected, detail);
}

core::Result<std::string>
parse_share_verify(const std::string& json)
{
  if (auto ok = check_envelope(json); !ok) {
    return ok.error();
  }
  const auto link = text_of(nlohmann::json::parse(json), "url_link");
  if (link.empty()) {
    return core::make_error(Errc::upstream_changed, "share_verify answer has no url_link");
  }
  return link;
}

core::Result<Study>
parse_study(const std::string& json)
{
  if (auto ok = check_envelope(json); !ok) {
    return ok.error();
  }
  try {
    const auto j = nlohmann::json::parse(json);
    const auto& s = j.at("study");
    Study out;
    if (auto p = s.find("patient"); p != s.end() && p->is_object()) {
      out.patient = text_of(*p, "name");
    }
    out.exam = text_of(s, "description");
    if (out.exam.empty()) {
      out.exam = text_of(s, "modality_type");
    }
    out.datetime = text_of(s, "study_datetime");
    if (out.datetime.empty()) {
      out.datetime = text_of(s, "study_date") + text_of(s, "study_time");
    }
    return out;
  } catch (const std::exception& e) {
    return core::make_error(Errc::upstream_changed, std::string("study/detail: ") + e.what());
  }
}

core::Result<std::vector<Series>>
parse_series_list(const std::string& json)
{
  if (auto ok = check_envelope(json); !ok) {
    return ok.error();
  }
  try {
    const auto j = nlohmann::json::parse(json);
    std::vector<Series> out;
    for (const auto& s : j.at("result")) {
      Series series;
      series.description = text_of(s, "description");
      if (auto n = s.find("series_number"); n != s.end() && n->is_number_integer()) {
        series.number = n->get<long>();
      } else if (n != s.end() && n->is_string() && !n->get<std::string>().empty()) {
        series.number = std::stol(n->get<std::string>());
      }
      series.source_folder = text_of(s, "source_folder");
      for (auto& name : core::split(text_of(s, "names"), ',')) {
        const auto trimmed = std::string(core::trim(name));
        if (!trimmed.empty()) {
          series.names.push_back(trimmed);
        }
      }
      out.push_back(std::move(series));
    }
    return out;
  } catch (const std::exception& e) {
    return core::make_error(Errc::upstream_changed, std::string("series/list: ") + e.what());
  }
}

bool
is_junk_name(const std::string& name)
{
  const auto dot = name.rfind('.');
  if (dot == std::string::npos) {
    return false;
  }
  auto ext = name.substr(dot + 1);
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return ext == "jpg" || ext == "jpeg" || ext == "png" || ext == "bmp" || ext == "gif"
         || ext == "pdf";
}

} // namespace shdc
