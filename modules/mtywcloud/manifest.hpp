// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <core/result.hpp>

#include <optional>
#include <string>
#include <vector>

// mtywcloud's encrypted study query and its JSON (platforms.md 3.8), without
// network access so they can be unit-tested. Crypto is OpenSSL EVP only.
namespace mtywcloud {

inline constexpr const char* k_default_key = "561382DAD3AE48A89AC3003E15D75CC0";
inline constexpr const char* k_default_iv = "1234567890000000";
inline constexpr const char* k_default_base = "https://ss.mtywcloud.com";

// Form-style escaping: space -> '+', letters, digits and "_.-~" kept,
// everything else %XX with upper-case hex.
std::string form_escape(const std::string& text);

// "DicomDirPath=<form_escape(path)>&OrganizationID=<id>".
std::string query_plaintext(const std::string& dicom_dir_path, const std::string& organization_id);

// AES-CBC with PKCS#7 (key size picks AES-128/192/256), lower-case hex out.
// Throws std::invalid_argument on a bad key or IV size.
std::string encrypt_hex(const std::string& plain, const std::string& key, const std::string& iv);
// The inverse; nullopt on bad hex, key or padding.
std::optional<std::string> decrypt_hex(const std::string& hex, const std::string& key,
                                       const std::string& iv);

struct Image
{
  std::string sop_instance_uid;
  std::string series_instance_uid;
  std::string study_instance_uid;
  std::string image_path;
};

struct Series
{
  std::string description; // "定位像" when empty
  std::optional<long> number;
  std::vector<Image> images;
};

struct Study
{
  std::string patient;
  std::string exam; // ModalitiesInStudy
  std::string datetime;
  std::vector<Series> series;
};

// M2: {"Success", "Message", "Data": [study]}. Success false:
// source::Errc::link_expired with Message (upstream_changed when the server
// could not decrypt the query, i.e. the key changed).
core::Result<Study> parse_study_info(const std::string& json);

} // namespace mtywcloud
