// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <core/result.hpp>

#include <optional>
#include <string>
#include <vector>

// zscloud's encrypted answers and JSON (platforms.md 3.5), without network
// access so the crypto and the parsers can be unit-tested. Crypto is
// OpenSSL EVP only.
namespace zscloud {

// Config keys known so far, newest first: the 32-byte AES-256 key since
// mid-2025, then the former 16-byte AES-128 key.
inline constexpr const char* k_default_keys = "c57b1589172b85531c2dbad73c5e9056,c6657583e265f4ca";

enum class Mode { ecb, cbc };

// Base64 after dropping every character outside the alphabet (quotes,
// newlines). Errors: source::Errc::upstream_changed.
core::Result<std::string> base64_decode(const std::string& text);
std::string base64_encode(const std::string& bytes);

// AES with PKCS#7 padding; the key size (16/24/32 bytes) picks AES-128/192/
// 256. decrypt returns nullopt on a bad key size or bad padding.
std::optional<std::string> aes_decrypt(const std::string& cipher, const std::string& key,
                                       const std::string& iv, Mode mode);
std::string aes_encrypt(const std::string& plain, const std::string& key, const std::string& iv,
                        Mode mode);

struct CbcKey
{
  std::string secret;
  std::string iv;
};

// Z1: try each of `keys` (AES-ECB) on the base64 body; the first whose
// plaintext is JSON gives cetusAESKey. Errors: upstream_changed.
core::Result<CbcKey> decrypt_config(const std::string& body, const std::vector<std::string>& keys);

struct StudyInfo
{
  std::string patient;
  std::string exam;
  long long datetime_ms = 0;
  std::string study_uid;
  std::string unique_id;
  std::string org_code;
  std::size_t studies = 0; // records in the share (only the first is fetched)
};

// Z2: code "U000000" and the decrypted encryptionStudyInfo. Other codes:
// link_expired with `data` as the text.
core::Result<StudyInfo> parse_share_answer(const std::string& json, const CbcKey& key);
// Z3: the access_token inside the `result` JSON text.
core::Result<std::string> parse_credentials(const std::string& json);

struct Series
{
  std::string uid;
  std::string description;
  std::optional<long> number;
  std::vector<std::string> images; // SOP Instance UIDs, "" for entries without one
};

// Z4: StudyList[0].SeriesList.
core::Result<std::vector<Series>> parse_hierarchy(const std::string& json);

// Epoch milliseconds as local "YYYY-MM-DD HH:MM:SS[.ffffff]" (3.5 naming).
std::string local_datetime(long long epoch_ms);

} // namespace zscloud
