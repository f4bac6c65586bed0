// SPDX-License-Identifier: GPL-3.0-or-later
// QIDO-RS (PS3.18 10.6): searches for studies, series and instances,
// answered by the same SQL as C-FIND (store::Query::find), as DICOM JSON
// (PS3.18 Annex F) in UTF-8.
#include "dicomweb.hpp"
#include "json.hpp"

#include <core/strings.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>

namespace web::dicomweb {

namespace {

using nlohmann::json;

struct Key
{
  std::uint32_t tag;
  const char* keyword;
  const char* vr;
};

// The attributes QIDO-RS may match or return here: those of PS3.18 Tables
// 10.6.1-5 and 10.6.3-3..5 that the index holds, and the rest of the index's
// columns for includefield.
const Key k_keys[] = {
    {0x00080005, "SpecificCharacterSet", "CS"},
    {0x00080012, "InstanceCreationDate", "DA"},
    {0x00080013, "InstanceCreationTime", "TM"},
    {0x00080016, "SOPClassUID", "UI"},
    {0x00080018, "SOPInstanceUID", "UI"},
    {0x00080020, "StudyDate", "DA"},
    {0x00080021, "SeriesDate", "DA"},
    {0x00080023, "ContentDate", "DA"},
    {0x00080030, "StudyTime", "TM"},
    {0x00080031, "SeriesTime", "TM"},
    {0x00080033, "ContentTime", "TM"},
    {0x00080050, "AccessionNumber", "SH"},
    {0x00080060, "Modality", "CS"},
    {0x00080061, "ModalitiesInStudy", "CS"},
    {0x00080062, "SOPClassesInStudy", "UI"},
    {0x00080070, "Manufacturer", "LO"},
    {0x00080080, "InstitutionName", "LO"},
    {0x00080090, "ReferringPhysicianName", "PN"},
    {0x00081010, "StationName", "SH"},
    {0x00081030, "StudyDescription", "LO"},
    {0x0008103E, "SeriesDescription", "LO"},
    {0x00081050, "PerformingPhysicianName", "PN"},
    {0x00100010, "PatientName", "PN"},
    {0x00100020, "PatientID", "LO"},
    {0x00100030, "PatientBirthDate", "DA"},
    {0x00100040, "PatientSex", "CS"},
    {0x00101010, "PatientAge", "AS"},
    {0x00180015, "BodyPartExamined", "CS"},
    {0x00181030, "ProtocolName", "LO"},
    {0x0020000D, "StudyInstanceUID", "UI"},
    {0x0020000E, "SeriesInstanceUID", "UI"},
    {0x00200010, "StudyID", "SH"},
    {0x00200011, "SeriesNumber", "IS"},
    {0x00200013, "InstanceNumber", "IS"},
    {0x00201206, "NumberOfStudyRelatedSeries", "IS"},
    {0x00201208, "NumberOfStudyRelatedInstances", "IS"},
    {0x00201209, "NumberOfSeriesRelatedInstances", "IS"},
    {0x00204000, "ImageComments", "LT"},
    {0x00280008, "NumberOfFrames", "IS"},
    {0x00280010, "Rows", "US"},
    {0x00280011, "Columns", "US"},
};

const Key*
key_of(const std::string& name)
{
  // A keyword, or the tag as 8 hex digits (PS3.18 8.3.4.1).
  if (name.size() == 8 && name.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos) {
    const auto tag = static_cast<std::uint32_t>(std::stoul(name, nullptr, 16));
    for (const auto& k : k_keys) {
      if (k.tag == tag) {
        return &k;
      }
    }
    return nullptr;
  }
  for (const auto& k : k_keys) {
    if (name == k.keyword) {
      return &k;
    }
  }
  return nullptr;
}

const Key*
key_of(std::uint32_t tag)
{
  for (const auto& k : k_keys) {
    if (k.tag == tag) {
      return &k;
    }
  }
  return nullptr;
}

// Return keys of each level (PS3.18 Tables 10.6.3-3, -4, -5).
const std::vector<std::uint32_t> k_study_return = {
    0x00080020, 0x00080030, 0x00080050, 0x00080061, 0x00080090, 0x00100010, 0x00100020,
    0x00100030, 0x00100040, 0x0020000D, 0x00200010, 0x00201206, 0x00201208, 0x00081030};
const std::vector<std::uint32_t> k_series_return = {0x00080060, 0x0020000E, 0x00200011, 0x0008103E,
                                                    0x00201209, 0x00080021, 0x00080031, 0x0020000D};
const std::vector<std::uint32_t> k_instance_return = {
    0x00080016, 0x00080018, 0x00200013, 0x00280010, 0x00280011, 0x00280008, 0x0020000D, 0x0020000E};

std::string
hex_tag(std::uint32_t tag)
{
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08X", tag);
  return buf;
}

// One attribute as DICOM JSON (PS3.18 F.2.2-F.2.5): PN as component groups,
// IS/US as numbers, an empty value without "Value".
json
attribute(const Key& key, const std::string& value)
{
  json a{{"vr", key.vr}};
  if (value.empty()) {
    return a;
  }
  json values = json::array();
  for (const auto& v : core::split(value, '\\')) {
    const std::string vr = key.vr;
    if (vr == "PN") {
      json pn = json::object();
      const auto groups = core::split(v, '=');
      const char* names[] = {"Alphabetic", "Ideographic", "Phonetic"};
      for (std::size_t g = 0; g < groups.size() && g < 3; ++g) {
        if (!groups[g].empty()) {
          pn[names[g]] = groups[g];
        }
      }
      values.push_back(pn);
    } else if (vr == "IS" || vr == "US") {
      try {
        values.push_back(std::stol(v));
      } catch (...) {
        values.push_back(v);
      }
    } else {
      values.push_back(v);
    }
  }
  a["Value"] = values;
  return a;
}

} // namespace

std::optional<std::uint32_t>
tag_of_keyword(const std::string& name)
{
  const auto* k = key_of(name);
  return k ? std::optional<std::uint32_t>(k->tag) : std::nullopt;
}

Response
search(const SearchContext& ctx, const Request& request)
{
  store::FindRequest find;
  find.model = store::Model::study_root;
  find.level = ctx.level;
  std::vector<std::uint32_t> returned = ctx.level == store::Level::study    ? k_study_return
                                        : ctx.level == store::Level::series ? k_series_return
                                                                            : k_instance_return;
  if (ctx.level == store::Level::image) {
    // Instances carry their study's and series' main attributes too, so a
    // viewer listing /instances needs no second query.
    returned.insert(returned.end(), {0x00080060, 0x00100010, 0x00100020, 0x00080020});
  }
  long limit = 0;
  long offset = 0;
  std::map<std::uint32_t, std::string> match;
  for (const auto& [name, value] : request.query) {
    if (name == "limit" || name == "offset") {
      try {
        (name == "limit" ? limit : offset) = std::stol(value);
      } catch (...) {
        return error_response(400, "bad_request", name + " must be a number");
      }
      continue;
    }
    if (name == "fuzzymatching") {
      continue; // PN matching is case-insensitive already; nothing fuzzier (8.3.4.2)
    }
    if (name == "includefield") {
      for (const auto& f : core::split(value, ',')) {
        if (f == "all") {
          for (const auto& k : k_keys) {
            if (k.tag != 0x00080005) {
              returned.push_back(k.tag);
            }
          }
        } else if (const auto* k = key_of(f)) {
          returned.push_back(k->tag);
        }
        // Unknown fields are left out (PS3.18 8.3.4.3: "may" be returned).
      }
      continue;
    }
    const auto* k = key_of(name);
    if (k == nullptr) {
      return error_response(400, "bad_request", "cannot match on '" + name + "'");
    }
    std::string v = value;
    if (std::string(k->vr) == "UI") {
      std::replace(v.begin(), v.end(), ',', '\\'); // UID lists (8.3.4.1)
    }
    match[k->tag] = v;
  }
  if (limit < 0 || offset < 0) {
    return error_response(400, "bad_request", "limit and offset must not be negative");
  }
  for (const auto& [tag, value] : ctx.fixed) {
    match[tag] = value;
  }
  std::sort(returned.begin(), returned.end());
  returned.erase(std::unique(returned.begin(), returned.end()), returned.end());
  for (const auto& [tag, value] : match) {
    if (std::find(returned.begin(), returned.end(), tag) == returned.end()) {
      returned.push_back(tag);
    }
  }
  for (const auto tag : returned) {
    const auto it = match.find(tag);
    find.keys.push_back({tag, it == match.end() ? std::string() : it->second, false});
  }
  find.limit = static_cast<std::size_t>(limit);
  find.offset = static_cast<std::size_t>(offset);
  auto result = ctx.query->find(find);
  if (!result) {
    if (result.error().code.category() == store::find_error_category()) {
      return error_response(400, "bad_request", result.error().message());
    }
    return error_response(500, "internal", result.error().message());
  }
  const auto total = static_cast<long>(result->total);
  if (result->matches.empty()) {
    Response r;
    r.status = 204; // PS3.18 8.3.4.4.1: no match
    r.content_type = "application/dicom+json";
    return r;
  }
  const long end = offset + static_cast<long>(result->matches.size());
  std::string out = "[";
  for (long i = offset; i < end; ++i) {
    const auto& m = result->matches[static_cast<std::size_t>(i - offset)];
    json j = json::object();
    j[hex_tag(0x00080005)] = json{{"vr", "CS"}, {"Value", {"ISO_IR 192"}}};
    std::string study;
    std::string series;
    std::string sop;
    for (const auto& [tag, value] : m.values) {
      const auto* k = key_of(tag);
      if (k == nullptr) {
        continue;
      }
      j[hex_tag(tag)] = attribute(*k, value);
      if (tag == 0x0020000D) {
        study = value;
      } else if (tag == 0x0020000E) {
        series = value;
      } else if (tag == 0x00080018) {
        sop = value;
      }
    }
    // RetrieveURL (0008,1190), PS3.18 10.6.3.3.
    std::string url = ctx.root + "/studies/" + study;
    if (ctx.level != store::Level::study) {
      url += "/series/" + series;
    }
    if (ctx.level == store::Level::image) {
      url += "/instances/" + sop;
    }
    j[hex_tag(0x00081190)] = json{{"vr", "UR"}, {"Value", {url}}};
    out += (i > offset ? "," : "") + dump(j);
  }
  out += "]";
  Response r;
  r.body = std::move(out);
  r.content_type = "application/dicom+json";
  if (end < total) {
    // PS3.18 8.3.4.4.1.
    r.set("Warning", "299 cloudfilm: There are " + std::to_string(total - end)
                         + " additional results that can be requested");
  }
  return r;
}

} // namespace web::dicomweb
