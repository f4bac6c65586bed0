// SPDX-License-Identifier: GPL-3.0-or-later
#include "manifest.hpp"

#include <source/json_fields.hpp>
#include <source/source.hpp>

#include <nlohmann/json.hpp>

namespace yzhcloud {

using source::text_of;

std::vector<Entry>
split_instance_ids(const std::string& ids)
{
  std::vector<Entry> out;
  std::size_t start = 0;
  while (start <= ids.size()) {
    auto end = ids.find(',', start);
    if (end == std::string::npos) {
      end = ids.size();
    }
    auto item = ids.substr(start, end - start);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) {
      item.pop_back();
    }
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) {
      item.erase(0, 1);
    }
    if (!item.empty()) {
      const auto bar = item.find('|');
      if (bar == std::string::npos) {
        out.push_back({item, "dcm"});
      } else {
        out.push_back({item.substr(0, bar), item.substr(bar + 1)});
      }
    }
    start = end + 1;
  }
  return out;
}

core::Result<Listing>
parse_listing(const std::string& body)
{
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(body);
  } catch (const std::exception& e) {
    return core::make_error(source::Errc::upstream_changed,
                            std::string("study listing is not JSON: ") + e.what());
  }
  if (j.is_null() || (j.is_object() && j.empty())) {
    return core::make_error(source::Errc::link_expired, "the platform knows no such study");
  }
  if (!j.is_object()) {
    return core::make_error(source::Errc::upstream_changed, "study listing is not a JSON object");
  }
  Listing listing;
  listing.patient = text_of(j, "patient_name");
  listing.exam = text_of(j, "checkitems");
  listing.date = text_of(j, "study_date");
  listing.storage = text_of(j, "storage");
  const auto series = j.find("series");
  if (listing.storage.empty() || series == j.end() || series->is_null()) {
    return core::make_error(source::Errc::link_expired, "study listing without storage or series");
  }
  if (!series->is_array()) {
    return core::make_error(source::Errc::upstream_changed, "study listing: series is not a list");
  }
  for (const auto& s : *series) {
    if (!s.is_object()) {
      return core::make_error(source::Errc::upstream_changed,
                              "study listing: series item is not an object");
    }
    Series out;
    out.number_text = text_of(s, "series_number");
    try {
      if (!out.number_text.empty()) {
        std::size_t used = 0;
        const long n = std::stol(out.number_text, &used);
        if (used == out.number_text.size()) {
          out.number = n;
        }
      }
    } catch (const std::exception&) {
    }
    out.description = text_of(s, "series_description");
    out.entries = split_instance_ids(text_of(s, "instance_ids"));
    listing.series.push_back(std::move(out));
  }
  return listing;
}

std::string
cdn_base(const std::string& storage, const std::string& scheme)
{
  const auto sep = storage.find("://");
  auto base = sep == std::string::npos ? scheme + "://" + storage : scheme + storage.substr(sep);
  while (!base.empty() && base.back() == '/') {
    base.pop_back();
  }
  return base;
}

std::string
file_url(const std::string& base, const std::string& study_uid, const Series& series,
         const Entry& entry)
{
  return base + "/" + study_uid + "/" + series.number_text + "." + entry.name + "." + entry.ext;
}

bool
looks_like_uid(const std::string& text)
{
  if (text.empty() || text.size() > 64 || text.front() == '.' || text.back() == '.') {
    return false;
  }
  for (const char c : text) {
    if (!(c == '.' || (c >= '0' && c <= '9'))) {
      return false;
    }
  }
  return true;
}

} // namespace yzhcloud
