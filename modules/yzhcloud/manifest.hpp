// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <core/result.hpp>

#include <optional>
#include <string>
#include <vector>

// yzhcloud's study listing (platforms.md 3.9), parsed without the network.
namespace yzhcloud {

struct Entry
{
  std::string name; // file name part, often the SOP Instance UID
  std::string ext;  // "dcm", or "jpg"/"png" for screenshots (not DICOM)
};

struct Series
{
  std::optional<long> number;
  std::string number_text; // as it goes into file names ("2")
  std::string description;
  std::vector<Entry> entries; // in listing order
};

struct Listing
{
  std::string patient;
  std::string exam;
  std::string date;
  std::string storage; // CDN base as the listing gives it
  std::vector<Series> series;
};

// Parse the ajax_get_patient_study answer. Errors: source::Errc::link_expired
// for `null`, `{}` or a listing without storage/series (unknown study),
// upstream_changed for anything that is not such JSON.
core::Result<Listing> parse_listing(const std::string& body);

// Split one comma-separated `instance_ids` value: "a,b|jpg" -> {a,dcm},{b,jpg}.
// Empty items (",,") are dropped.
std::vector<Entry> split_instance_ids(const std::string& ids);

// `storage` with its scheme replaced by `scheme` ("https" on the real site).
std::string cdn_base(const std::string& storage, const std::string& scheme);

// <base>/<study uid>/<series number>.<name>.<ext>
std::string file_url(const std::string& base, const std::string& study_uid, const Series& series,
                     const Entry& entry);

// True for DICOM UID syntax (digits and dots, at most 64 characters), so the
// entry name can be looked up in the store before downloading.
bool looks_like_uid(const std::string& text);

} // namespace yzhcloud
