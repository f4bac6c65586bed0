// SPDX-License-Identifier: GPL-3.0-or-later
#include "manifest.hpp"

#include <core/base64.hpp>
#include <source/source.hpp>

#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include <cstdio>
#include <ctime>
#include <memory>

namespace zscloud {

namespace {

using source::Errc;

const EVP_CIPHER*
cipher_for(std::size_t key_size, Mode mode)
{
  switch (key_size) {
  case 16:
    return mode == Mode::ecb ? EVP_aes_128_ecb() : EVP_aes_128_cbc();
  case 24:
    return mode == Mode::ecb ? EVP_aes_192_ecb() : EVP_aes_192_cbc();
  case 32:
    return mode == Mode::ecb ? EVP_aes_256_ecb() : EVP_aes_256_cbc();
  default:
    return nullptr;
  }
}

using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

std::optional<std::string>
run(bool encrypt, const std::string& in, const std::string& key, const std::string& iv, Mode mode)
{
  const auto* cipher = cipher_for(key.size(), mode);
  if (cipher == nullptr || (mode == Mode::cbc && iv.size() != 16)) {
    return std::nullopt;
  }
  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  const auto* k = reinterpret_cast<const unsigned char*>(key.data());
  const auto* v = mode == Mode::cbc ? reinterpret_cast<const unsigned char*>(iv.data()) : nullptr;
  if (!ctx || EVP_CipherInit_ex(ctx.get(), cipher, nullptr, k, v, encrypt ? 1 : 0) != 1) {
    return std::nullopt;
  }
  std::string out(in.size() + 32, '\0');
  int n = 0;
  int tail = 0;
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  if (EVP_CipherUpdate(ctx.get(), o, &n, reinterpret_cast<const unsigned char*>(in.data()),
                       static_cast<int>(in.size()))
          != 1
      || EVP_CipherFinal_ex(ctx.get(), o + n, &tail) != 1) { // checks PKCS#7 on decrypt
    return std::nullopt;
  }
  out.resize(static_cast<std::size_t>(n + tail));
  return out;
}

std::string
text_of(const nlohmann::json& j, const char* key)
{
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    return {};
  }
  return it->is_string() ? it->get<std::string>() : it->dump();
}

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
  return run(false, cipher, key, iv, mode);
}

std::string
aes_encrypt(const std::string& plain, const std::string& key, const std::string& iv, Mode mode)
{
  auto out = run(true, plain, key, iv, mode);
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
