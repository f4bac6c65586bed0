// SPDX-License-Identifier: GPL-3.0-or-later
#include "manifest.hpp"

#include <core/base64.hpp>
#include <core/crypto.hpp>
#include <source/json_fields.hpp>
#include <source/source.hpp>

#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include <cstdio>
#include <ctime>
#include <memory>

namespace zscloud {

using source::text_of;

namespace {

using source::Errc;

} // namespace

core::Result<std::string>
base64_decode(const std::string& text)
{
  std::string clean; // the API wraps values in quotes and newlines
  for (const char c : text) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+'
        || c == '/' || c == '=') {
      clean += c;
    }
  }
  std::string out;
  if (clean.empty() || clean.size() % 4 != 0 || !core::base64_decode(clean, out)) {
    return core::make_error(Errc::upstream_changed,
                            "not base64 (length " + std::to_string(clean.size()) + ")");
  }
  return out;
}

std::string
base64_encode(const std::string& bytes)
{
  return core::base64_encode(bytes);
}

std::optional<std::string>
aes_decrypt(const std::string& cipher, const std::string& key, const std::string& iv, Mode mode)
{
  return core::aes(false, cipher, key, iv,
                   mode == Mode::ecb ? core::AesMode::ecb : core::AesMode::cbc);
}

std::string
aes_encrypt(const std::string& plain, const std::string& key, const std::string& iv, Mode mode)
{
  auto out =
      core::aes(true, plain, key, iv, mode == Mode::ecb ? core::AesMode::ecb : core::AesMode::cbc);
  if (!out) {
    throw std::invalid_argument("AES: bad key or IV size");
  }
  return *out;
}

core::Result<CbcKey>
decrypt_config(const std::string& body, const std::vector<std::string>& keys)
{
  auto cipher = base64_decode(body);
  if (!cipher) {
    return core::make_error(Errc::upstream_changed, "getConfigs: " + cipher.error().detail);
  }
  for (const auto& key : keys) {
    auto plain = aes_decrypt(*cipher, key, {}, Mode::ecb);
    if (!plain || !nlohmann::json::accept(*plain)) {
      continue;
    }
    try {
      const auto j = nlohmann::json::parse(*plain);
      const auto& k = j.at("cetusAESKey");
      CbcKey out{k.at("cipherSecretKey").get<std::string>(), k.at("cipherIv").get<std::string>()};
      return out;
    } catch (const std::exception& e) {
      return core::make_error(Errc::upstream_changed,
                              std::string("config has no cetusAESKey: ") + e.what());
    }
  }
  return core::make_error(
      Errc::upstream_changed,
      "getConfigs: none of the known config keys decrypts it (the site key changed: option keys)");
}

core::Result<StudyInfo>
parse_share_answer(const std::string& json, const CbcKey& key)
{
  try {
    const auto j = nlohmann::json::parse(json);
    const auto code = text_of(j, "code");
    if (code != "U000000") {
      const auto data = j.contains("data") ? text_of(j, "data") : std::string();
      return core::make_error(Errc::link_expired,
                              "zscloud code " + code + (data.empty() ? "" : ": " + data));
    }
    auto cipher = base64_decode(j.at("data").at("encryptionStudyInfo").get<std::string>());
    if (!cipher) {
      return cipher.error();
    }
    auto plain = aes_decrypt(*cipher, key.secret, key.iv, Mode::cbc);
    if (!plain) {
      return core::make_error(Errc::upstream_changed, "encryptionStudyInfo does not decrypt");
    }
    const auto info = nlohmann::json::parse(*plain);
    const auto& records = info.at("records");
    if (!records.is_array() || records.empty()) {
      return core::make_error(Errc::link_expired, "the share holds no study");
    }
    const auto& r = records.at(0);
    StudyInfo out;
    out.studies = records.size();
    out.patient = text_of(r, "patientName");
    out.exam = text_of(r, "procedureItemName");
    if (auto t = r.find("studyDatetime"); t != r.end() && t->is_number()) {
      out.datetime_ms = t->get<long long>();
    }
    const auto& level = r.at("studyLevelList").at(0);
    out.study_uid = text_of(level, "studyInstanceUid");
    out.unique_id = text_of(level, "uniqueId");
    out.org_code = text_of(level, "orgCode");
    if (out.study_uid.empty()) {
      return core::make_error(Errc::upstream_changed, "study info has no studyInstanceUid");
    }
    return out;
  } catch (const std::exception& e) {
    return core::make_error(Errc::upstream_changed,
                            std::string("getStudyByShareCodeWithToken: ") + e.what());
  }
}

core::Result<std::string>
parse_credentials(const std::string& json)
{
  try {
    const auto outer = nlohmann::json::parse(json);
    const auto inner = nlohmann::json::parse(outer.at("result").get<std::string>());
    auto token = inner.at("access_token").get<std::string>();
    if (token.empty()) {
      return core::make_error(Errc::auth_rejected, "empty access_token");
    }
    return token;
  } catch (const std::exception& e) {
    return core::make_error(Errc::upstream_changed,
                            std::string("GetCredentialsToken: ") + e.what());
  }
}

core::Result<std::vector<Series>>
parse_hierarchy(const std::string& json)
{
  try {
    const auto j = nlohmann::json::parse(json);
    std::vector<Series> out;
    const auto& studies = j.at("PatientInfo").at("StudyList");
    if (studies.empty()) {
      return out;
    }
    for (const auto& s : studies.at(0).at("SeriesList")) {
      Series series;
      series.uid = text_of(s, "UID");
      series.description = text_of(s, "SeriesDes");
      if (auto n = s.find("SeriesNum"); n != s.end() && n->is_number_integer()) {
        series.number = n->get<long>();
      } else if (n != s.end() && n->is_string() && !n->get<std::string>().empty()) {
        series.number = std::stol(n->get<std::string>());
      }
      if (auto images = s.find("ImageList"); images != s.end() && images->is_array()) {
        for (const auto& i : *images) {
          series.images.push_back(text_of(i, "UID"));
        }
      }
      out.push_back(std::move(series));
    }
    return out;
  } catch (const std::exception& e) {
    return core::make_error(Errc::upstream_changed, std::string("GetHierachy: ") + e.what());
  }
}

std::string
local_datetime(long long epoch_ms)
{
  const std::time_t seconds = static_cast<std::time_t>(epoch_ms / 1000);
  const long long ms = epoch_ms % 1000;
  std::tm tm{};
  localtime_r(&seconds, &tm);
  char buffer[64];
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%d %H:%M:%S", &tm);
  std::string out = buffer;
  if (ms != 0) {
    char fraction[16];
    std::snprintf(fraction, sizeof(fraction), ".%06lld", ms * 1000);
    out += fraction;
  }
  return out;
}

} // namespace zscloud
