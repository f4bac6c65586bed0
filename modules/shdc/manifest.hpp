// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <core/result.hpp>

#include <optional>
#include <string>
#include <utility>
#include <vector>

// The shdc signed JSON API (platforms.md 3.4), without network access so the
// signing rules and the listing parser can be unit-tested.
namespace shdc {

inline constexpr const char* k_default_key = "5fbcVzmBJNUsw53#";

using Params = std::vector<std::pair<std::string, std::string>>;

// Lower-case hex MD5 of `text` (OpenSSL EVP).
std::string md5_hex(const std::string& text);

// The query string for `params` (in the given order) followed by
// `sign=<md5(form-encoded params + "&key=" + key)>`.
std::string signed_query(const Params& params, const std::string& key);

// "Basic <sid>;<token>;<ts>;<md5(sid;token;ts;name;key)>" for one file.
std::string file_authorization(const std::string& sid, const std::string& token,
                               const std::string& ts_ms, const std::string& name,
                               const std::string& key);

struct Study
{
  std::string patient;
  std::string exam;     // description, else modality_type
  std::string datetime; // study_datetime, else study_date + study_time
};

struct Series
{
  std::string description; // "" when absent
  std::optional<long> number;
  std::string source_folder;
  std::vector<std::string> names; // display order
};

// The envelope check: code 0 passes; 1005 is source::Errc::link_expired; a
// signature complaint upstream_changed (the KEY moved); others auth_rejected.
core::Result<void> check_envelope(const std::string& json);
// share_verify (S0): url_link.
core::Result<std::string> parse_share_verify(const std::string& json);
core::Result<Study> parse_study(const std::string& json);
core::Result<std::vector<Series>> parse_series_list(const std::string& json);

// True for listing names that are not DICOM files (a picture or document
// extension such as ".jpg"), which are skipped without a download.
bool is_junk_name(const std::string& name);

} // namespace shdc
