// SPDX-License-Identifier: GPL-3.0-or-later
// The store's routes of the HTTP side: study list (matched like C-FIND),
// study, series, instance, file, zip export, delete, upload, send.
#include "api.hpp"
#include "error_codes.hpp"
#include "events.hpp"
#include "json.hpp"
#include "recording_sink.hpp"

#include <core/log.hpp>
#include <core/strings.hpp>
#include <forward/job_store.hpp>
#include <http/url.hpp>
#include <media/har_import.hpp>
#include <media/import.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <set>

namespace web {

namespace {

using nlohmann::json;

// The study-level keys of the list and the query parameters that match them
// (QIDO-RS names, PS3.18 10.6.1.2; the values as C-FIND's, PS3.4 C.2.2.2).
struct StudyKey
{
  std::uint32_t tag;
  const char* param; // nullptr: return key only
  const char* field;
};
const StudyKey k_study_keys[] = {
    {0x0020000D, "StudyInstanceUID", "study_uid"},
    {0x00100010, "PatientName", "patient_name"},
    {0x00100020, "PatientID", "patient_id"},
    {0x00100030, nullptr, "patient_birth_date"},
    {0x00100040, nullptr, "patient_sex"},
    {0x00080020, "StudyDate", "study_date"},
    {0x00080030, nullptr, "study_time"},
    {0x00080050, "AccessionNumber", "accession_number"},
    {0x00200010, nullptr, "study_id"},
    {0x00081030, nullptr, "description"},
    {0x00080061, "ModalitiesInStudy", "modalities"},
    {0x00201206, nullptr, "series_count"},
    {0x00201208, nullptr, "instance_count"},
};

json
study_json(const store::FindMatch& match)
{
  json j = json::object();
  for (const auto& [tag, value] : match.values) {
    for (const auto& k : k_study_keys) {
      if (k.tag != tag) {
        continue;
      }
      if (tag == 0x00080061) {
        j[k.field] = value.empty() ? std::vector<std::string>{} : core::split(value, '\\');
      } else if (tag == 0x00201206 || tag == 0x00201208) {
        j[k.field] = value.empty() ? 0L : std::atol(value.c_str());
      } else {
        j[k.field] = value;
      }
    }
  }
  return j;
}

core::Result<store::FindResult>
find_studies(store::Query& query, const std::map<std::string, std::string>& params,
             std::size_t limit = 0, std::size_t offset = 0)
{
  store::FindRequest request;
  request.model = store::Model::study_root;
  request.level = store::Level::study;
  request.limit = limit; // newest study first (the index's study order)
  request.offset = offset;
  for (const auto& k : k_study_keys) {
    std::string value;
    if (k.param != nullptr) {
      const auto it = params.find(k.param);
      if (it != params.end()) {
        value = it->second;
      }
    }
    request.keys.push_back({k.tag, value, false});
  }
  return query.find(request);
}

Response
store_error(const core::Error& error)
{
  const auto e = api_error(error);
  return error_response(e.status, e.code, error.message());
}

// RFC 6266 / RFC 8187: a download name in UTF-8, with an ASCII fallback.
std::string
attachment(const std::string& name)
{
  std::string ascii;
  for (unsigned char c : name) {
    ascii += std::isalnum(c) || c == '.' || c == '-' || c == '_' ? static_cast<char>(c) : '_';
  }
  return "attachment; filename=\"" + ascii + "\"; filename*=UTF-8''" + http::url_encode(name);
}

} // namespace

Response
Api::studies(const Request& request)
{
  long limit = 100;
  long offset = 0;
  try {
    if (!request.param("limit").empty()) {
      limit = std::stol(request.param("limit"));
    }
    if (!request.param("offset").empty()) {
      offset = std::stol(request.param("offset"));
    }
  } catch (...) {
    return error_response(400, "bad_request", "limit and offset are numbers");
  }
  if (limit < 1 || limit > 1000 || offset < 0) {
    return error_response(400, "bad_request", "limit is 1..1000, offset at least 0");
  }
  if (request.param("StudyInstanceUID").find_first_not_of("0123456789.,\\") != std::string::npos) {
    return error_response(400, "bad_request", "StudyInstanceUID holds UIDs only");
  }
  auto params = request.query;
  if (auto it = params.find("StudyInstanceUID"); it != params.end()) {
    std::replace(it->second.begin(), it->second.end(), ',', '\\'); // PS3.18 8.3.4.1 lists
  }
  auto found = find_studies(*m_services.query, params, static_cast<std::size_t>(limit),
                            static_cast<std::size_t>(offset));
  if (!found) {
    if (found.error().code.category() == store::find_error_category()) {
      return error_response(400, "bad_request", found.error().message());
    }
    return store_error(found.error());
  }
  json out = json::array();
  for (const auto& m : found->matches) {
    out.push_back(study_json(m));
  }
  return json_response(
      200,
      dump(json{{"total", found->total}, {"offset", offset}, {"limit", limit}, {"studies", out}}));
}

Response
Api::study(const std::string& uid)
{
  auto found = find_studies(*m_services.query, {{"StudyInstanceUID", uid}});
  if (!found) {
    return store_error(found.error());
  }
  if (found->matches.empty()) {
    return error_response(404, "not_found", "no study " + uid + " in the store");
  }
  auto j = study_json(found->matches.front());
  auto series = m_services.query->series(uid);
  if (!series) {
    return store_error(series.error());
  }
  json list = json::array();
  for (const auto& s : *series) {
    list.push_back({{"series_uid", s.series_instance_uid},
                    {"modality", s.modality},
                    {"series_number", s.series_number ? json(*s.series_number) : json()},
                    {"description", s.description},
                    {"body_part_examined", s.body_part_examined},
                    {"instance_count", s.instance_count}});
  }
  j["series"] = list;
  return json_response(200, dump(j));
}

Response
Api::series(const std::string& uid)
{
  auto rows = m_services.query->instances(uid);
  if (!rows) {
    return store_error(rows.error());
  }
  if (rows->empty()) {
    return error_response(404, "not_found", "no series " + uid + " in the store");
  }
  const auto study_uid = rows->front().study_instance_uid;
  json j{{"series_uid", uid}, {"study_uid", study_uid}};
  if (auto series = m_services.query->series(study_uid)) {
    for (const auto& s : *series) {
      if (s.series_instance_uid == uid) {
        j["modality"] = s.modality;
        j["series_number"] = s.series_number ? json(*s.series_number) : json();
        j["description"] = s.description;
        j["instance_count"] = s.instance_count;
      }
    }
  }
  json list = json::array();
  for (const auto& r : *rows) {
    list.push_back({{"sop_instance_uid", r.sop_instance_uid},
                    {"sop_class_uid", r.sop_class_uid},
                    {"instance_number", r.instance_number ? json(*r.instance_number) : json()},
                    {"transfer_syntax_uid", r.transfer_syntax_uid},
                    {"size", r.size}});
  }
  j["instances"] = list;
  return json_response(200, dump(j));
}

Response
Api::instance(const std::string& uid)
{
  auto row = m_services.query->instance(uid);
  if (!row) {
    return store_error(row.error());
  }
  if (!*row) {
    return error_response(404, "not_found", "no instance " + uid + " in the store");
  }
  const auto& r = **row;
  return json_response(
      200, dump(json{{"sop_instance_uid", r.sop_instance_uid},
                     {"sop_class_uid", r.sop_class_uid},
                     {"series_uid", r.series_instance_uid},
                     {"study_uid", r.study_instance_uid},
                     {"instance_number", r.instance_number ? json(*r.instance_number) : json()},
                     {"transfer_syntax_uid", r.transfer_syntax_uid},
                     {"size", r.size}}));
}

Response
Api::instance_file(const std::string& uid)
{
  const auto path = m_services.sink->stored_file(uid);
  std::error_code ec;
  if (path.empty() || !std::filesystem::is_regular_file(path, ec)) {
    return error_response(404, "not_found", "no instance " + uid + " in the store");
  }
  Response r;
  r.file = path;
  r.content_type = "application/dicom";
  r.set("Content-Disposition", attachment(uid + ".dcm"));
  return r;
}

Response
Api::archive(const std::string& uid)
{
  auto series = m_services.query->series(uid);
  if (!series) {
    return store_error(series.error());
  }
  if (series->empty()) {
    return error_response(404, "not_found", "no study " + uid + " in the store");
  }
  if (!m_services.export_zip) {
    return error_response(500, "internal", "zip export is not wired");
  }
  Response r;
  r.content_type = "application/zip";
  r.set("Content-Disposition", attachment(uid + ".zip"));
  auto exporter = m_services.export_zip;
  r.stream = [exporter, uid](BodyWriter& out) {
    auto result = exporter(uid, [&out](std::string chunk) { return out.write(std::move(chunk)); });
    if (!result) {
      // The header has gone out: all that is left is to cut the body short,
      // so the client sees a broken zip, never a complete-looking one.
      CF_LOG(warn, "web", "zip export of study " << uid << ": " << result.error().message());
      throw std::runtime_error("zip export failed");
    }
  };
  return r;
}

Response
Api::remove(store::Level level, const std::string& uid)
{
  auto n = m_services.remove(level, uid);
  if (!n) {
    return store_error(n.error());
  }
  if (*n == 0) {
    return error_response(404, "not_found", "nothing with UID " + uid + " in the store");
  }
  CF_LOG(info, "web", "deleted " << *n << " instance(s) under " << uid);
  if (level == store::Level::study) {
    m_events.publish("study", dump(json{{"study_uid", uid}, {"change", "deleted"}}));
  } else {
    m_events.publish("study", dump(json{{"study_uid", nullptr}, {"change", "deleted"}}));
  }
  return json_response(200, dump(json{{"deleted", *n}}));
}

Response
Api::upload(const Request& request)
{
  const auto file = request.body_file;
  if (file.empty() || request.body_size == 0) {
    return error_response(400, "bad_request",
                          "send a DICOM file, a zip or a HAR capture as the request body");
  }
  ++m_uploads;
  std::set<std::string> studies;
  std::mutex studies_mutex;
  RecordingSink sink(*m_services.sink, [&](const store::Ingested& in) {
    std::lock_guard<std::mutex> lock(studies_mutex);
    studies.insert(in.study_instance_uid);
  });
  // A HAR capture is JSON: its first non-blank byte is '{'.
  char first = 0;
  {
    std::ifstream in(file, std::ios::binary);
    while (in.get(first) && std::isspace(static_cast<unsigned char>(first))) {
    }
  }
  json out;
  if (first == '{') {
    auto har = media::import_har(file, sink);
    std::error_code ec;
    std::filesystem::remove(file, ec);
    if (!har) {
      return error_response(400, "bad_request", har.error().message());
    }
    out = json{{"imported", har->imported},
               {"duplicates", har->already_stored + har->duplicates},
               {"skipped", har->skipped},
               {"failed", har->failed},
               {"failures", har->notes}};
  } else {
    auto summary = media::import_paths({file}, sink);
    std::error_code ec;
    std::filesystem::remove(file, ec);
    for (auto& f : summary.failures) {
      // The spool path means nothing to the uploader.
      if (f.rfind(file.string(), 0) == 0) {
        f = "upload" + f.substr(file.string().size());
      }
    }
    if (summary.imported == 0 && summary.duplicates == 0 && summary.failed == 0) {
      return error_response(400, "bad_request",
                            "the upload holds no DICOM (neither a DICOM file nor a zip of them)");
    }
    out = json{{"imported", summary.imported},
               {"duplicates", summary.duplicates},
               {"skipped", summary.skipped},
               {"failed", summary.failed},
               {"failures", summary.failures}};
  }
  out["study_uids"] = studies;
  for (const auto& s : studies) {
    m_events.publish("study", dump(json{{"study_uid", s}, {"change", "stored"}}));
  }
  return json_response(200, dump(out));
}

Response
Api::send(const Request& request, const std::string& study_uid)
{
  const auto& type = request.header("content-type");
  if (core::to_lower_ascii(type.substr(0, type.find(';'))) != "application/json") {
    return error_response(415, "bad_request", "send the body as Content-Type: application/json");
  }
  const auto body = json::parse(request.body, nullptr, false);
  if (!body.is_object() || !body.contains("to") || !body["to"].is_string()) {
    return error_response(400, "bad_json", "expected {\"to\": \"<modality name>\"}");
  }
  const auto to = body["to"].get<std::string>();
  const auto it = m_services.config->modalities.find(to);
  if (it == m_services.config->modalities.end() || !it->second.reachable()) {
    return error_response(400, "unknown_modality",
                          "no modality '" + to + "' with a host and port is configured");
  }
  store::FindRequest find;
  find.level = store::Level::study;
  find.keys.push_back({0x0020000D, study_uid, false});
  auto items = m_services.query->retrieve(find);
  if (!items) {
    return store_error(items.error());
  }
  if (items->empty()) {
    return error_response(404, "not_found", "no study " + study_uid + " in the store");
  }
  std::vector<std::string> sops;
  for (const auto& i : *items) {
    sops.push_back(i.sop_instance_uid);
  }
  auto id = m_services.queue->create(to, "send", study_uid, sops);
  if (!id) {
    return error_response(500, "internal", id.error().message());
  }
  CF_LOG(info, "web", "queued job " << *id << ": study " << study_uid << " to " << to);
  poll_queue();
  auto job = m_services.queue->job(*id);
  json j = json::object();
  if (job && *job) {
    j = json{{"id", (*job)->id},
             {"destination", (*job)->destination},
             {"state", forward::to_string((*job)->state)},
             {"pending", (*job)->pending}};
  }
  return json_response(202, dump(json{{"job", j}}));
}

} // namespace web
