// SPDX-License-Identifier: GPL-3.0-or-later
#include "manifest.hpp"

#include <source/source.hpp>

#include <nlohmann/json.hpp>

namespace sugh {

namespace {

// Keeps the document order of objects: `sers` and `imgs` are maps whose
// key order is not the display order.
using Json = nlohmann::ordered_json;

std::string
text_of(const Json& j, const char* key)
{
  if (!j.is_object()) {
    return {};
  }
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    return {};
  }
  return it->is_string() ? it->get<std::string>() : it->dump();
}

core::Result<Json>
parse_envelope(const std::string& body, const char* what)
{
  Json j;
  try {
    j = Json::parse(body);
  } catch (const std::exception& e) {
    return core::make_error(source::Errc::upstream_changed,
                            std::string(what) + " is not JSON: " + e.what());
  }
  if (!j.is_object() || !j.contains("code")) {
    return core::make_error(source::Errc::upstream_changed, std::string(what) + ": no code field");
  }
  // `code` is a string on the site; accept a number as well.
  const auto code = text_of(j, "code");
  if (code != "200") {
    auto message = text_of(j, "message");
    return core::make_error(source::Errc::link_expired,
                            std::string(what) + ": code " + code
                                + (message.empty() ? "" : ": " + message));
  }
  return j;
}

} // namespace

core::Result<Share>
parse_share(const std::string& body)
{
  auto j = parse_envelope(body, "share lookup");
  if (!j) {
    return j.error();
  }
  const auto data = j->find("data");
  if (data == j->end() || !data->is_object()) {
    return core::make_error(source::Errc::link_expired, "share lookup: no data");
  }
  Share share;
  share.study_uid = text_of(*data, "studyUid");
  if (const auto params = data->find("params"); params != data->end()) {
    share.org_code = text_of(*params, "orgCode");
    share.patient = text_of(*params, "patientName");
  }
  if (share.study_uid.empty()) {
    return core::make_error(source::Errc::upstream_changed, "share lookup: no studyUid");
  }
  return share;
}

core::Result<Study>
parse_study(const std::string& body)
{
  auto j = parse_envelope(body, "study listing");
  if (!j) {
    return j.error();
  }
  const auto data = j->find("data");
  if (data == j->end() || !data->is_array() || data->empty()) {
    return core::make_error(source::Errc::link_expired, "study listing: no study");
  }
  const auto& first = (*data)[0];
  Study study;
  const auto std_it = first.find("std");
  const auto sers = first.find("sers");
  if (std_it == first.end() || sers == first.end() || !sers->is_object()) {
    return core::make_error(source::Errc::upstream_changed, "study listing: no std/sers");
  }
  study.uid = text_of(*std_it, "studyUID");
  study.description = text_of(*std_it, "studyDescription");
  study.date_time = text_of(*std_it, "studyDateTime");
  if (study.uid.empty()) {
    return core::make_error(source::Errc::upstream_changed, "study listing: no std.studyUID");
  }
  for (const auto& [key, s] : sers->items()) {
    (void)key;
    Series out;
    out.uid = text_of(s, "seriesUID");
    out.description = text_of(s, "seriesDescription");
    const auto number = text_of(s, "seriesNumber");
    try {
      if (!number.empty()) {
        std::size_t used = 0;
        const long n = std::stol(number, &used);
        if (used == number.size()) {
          out.number = n;
        }
      }
    } catch (const std::exception&) {
    }
    if (const auto imgs = s.find("imgs"); imgs != s.end() && imgs->is_object()) {
      for (const auto& [k, img] : imgs->items()) {
        (void)k;
        out.images.push_back(text_of(img, "imageUID"));
      }
    }
    study.series.push_back(std::move(out));
  }
  return study;
}

} // namespace sugh
