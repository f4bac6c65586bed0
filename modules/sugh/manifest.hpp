// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <core/result.hpp>

#include <optional>
#include <string>
#include <vector>

// sugh's two JSON answers (platforms.md 3.10), parsed without the network.
namespace sugh {

// G1, getClinicalByShareCode.
struct Share
{
  std::string study_uid; // data.studyUid (may differ from the listing's)
  std::string org_code;
  std::string patient;
};

struct Series
{
  std::string uid;
  std::string description;
  std::optional<long> number;
  std::vector<std::string> images; // imageUID, document order
};

// G2, study/json/index (data[0] only).
struct Study
{
  std::string uid; // std.studyUID: the one the file paths need
  std::string description;
  std::string date_time;
  std::vector<Series> series; // document order of the `sers` map
};

// Errors: source::Errc::link_expired when `code` is not "200" (detail: the
// platform's message), upstream_changed for other JSON.
core::Result<Share> parse_share(const std::string& body);
core::Result<Study> parse_study(const std::string& body);

} // namespace sugh
