// SPDX-License-Identifier: GPL-3.0-or-later
#include "commands.hpp"
#include "table.hpp"

#include <core/strings.hpp>

#include <nlohmann/json.hpp>

#include <iostream>

namespace app {

namespace {

std::string
join(const std::vector<std::string>& v, const char* sep)
{
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) {
      out += sep;
    }
    out += s;
  }
  return out;
}

std::string
opt(const std::optional<long>& v)
{
  return v ? std::to_string(*v) : std::string();
}

nlohmann::json
opt_json(const std::optional<long>& v)
{
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

// "20240131" -> "2024-01-31" for people; other values as they are.
std::string
pretty_date(const std::string& da)
{
  if (da.size() == 8 && da.find_first_not_of("0123456789") == std::string::npos) {
    return da.substr(0, 4) + "-" + da.substr(4, 2) + "-" + da.substr(6, 2);
  }
  return da;
}

template <typename T>
bool
failed(const core::Result<T>& r)
{
  if (!r) {
    std::cerr << "cloudfilm: " << r.error().message() << "\n";
    return true;
  }
  return false;
}

} // namespace

int
run_ls(const config::Config& config, const LsOptions& options)
{
  auto st = open_store(config);
  if (!st) {
    return 1;
  }
  auto& q = st->query();
  nlohmann::json json = nlohmann::json::array();
  std::unique_ptr<Table> table;

  if (options.what == "patients") {
    auto rows = q.patients();
    if (failed(rows)) {
      return 1;
    }
    table = std::make_unique<Table>(std::vector<std::string>{"PATIENT", "ID", "BIRTH", "SEX",
                                                             "STUDIES", "SERIES", "INSTANCES"});
    for (const auto& r : *rows) {
      json.push_back({{"patient_id", r.patient_id},
                      {"patient_name", r.patient_name},
                      {"birth_date", r.birth_date},
                      {"sex", r.sex},
                      {"study_count", r.study_count},
                      {"series_count", r.series_count},
                      {"instance_count", r.instance_count}});
      table->add({r.patient_name, r.patient_id, pretty_date(r.birth_date), r.sex,
                  std::to_string(r.study_count), std::to_string(r.series_count),
                  std::to_string(r.instance_count)});
    }
  } else if (options.what == "studies") {
    auto rows = q.studies();
    if (failed(rows)) {
      return 1;
    }
    table = std::make_unique<Table>(std::vector<std::string>{
        "PATIENT", "ID", "DATE", "MODALITIES", "DESCRIPTION", "SERIES", "INSTANCES", "STUDY UID"});
    for (const auto& r : *rows) {
      json.push_back({{"patient_name", r.patient_name},
                      {"patient_id", r.patient_id},
                      {"study_uid", r.study_instance_uid},
                      {"study_date", r.study_date},
                      {"study_time", r.study_time},
                      {"accession_number", r.accession_number},
                      {"study_id", r.study_id},
                      {"description", r.description},
                      {"modalities", r.modalities},
                      {"series_count", r.series_count},
                      {"instance_count", r.instance_count}});
      table->add({r.patient_name, r.patient_id, pretty_date(r.study_date), join(r.modalities, "/"),
                  r.description, std::to_string(r.series_count), std::to_string(r.instance_count),
                  r.study_instance_uid});
    }
  } else if (options.what == "series") {
    auto rows = q.series(options.uid);
    if (failed(rows)) {
      return 1;
    }
    if (rows->empty()) {
      std::cerr << "cloudfilm: no study " << options.uid << "\n";
      return 1;
    }
    table = std::make_unique<Table>(std::vector<std::string>{
        "NUMBER", "MODALITY", "DESCRIPTION", "DATE", "BODY PART", "INSTANCES", "SERIES UID"});
    for (const auto& r : *rows) {
      json.push_back({{"series_uid", r.series_instance_uid},
                      {"study_uid", r.study_instance_uid},
                      {"modality", r.modality},
                      {"series_number", opt_json(r.series_number)},
                      {"description", r.description},
                      {"series_date", r.series_date},
                      {"series_time", r.series_time},
                      {"body_part", r.body_part_examined},
                      {"instance_count", r.instance_count}});
      table->add({opt(r.series_number), r.modality, r.description, pretty_date(r.series_date),
                  r.body_part_examined, std::to_string(r.instance_count), r.series_instance_uid});
    }
  } else if (options.what == "instances") {
    auto rows = q.instances(options.uid);
    if (failed(rows)) {
      return 1;
    }
    if (rows->empty()) {
      std::cerr << "cloudfilm: no series " << options.uid << "\n";
      return 1;
    }
    table = std::make_unique<Table>(
        std::vector<std::string>{"NUMBER", "SOP INSTANCE UID", "TRANSFER SYNTAX", "SIZE", "PATH"});
    for (const auto& r : *rows) {
      const auto path = (st->root() / r.path).lexically_normal();
      const auto abs = std::filesystem::absolute(path).string();
      json.push_back({{"sop_instance_uid", r.sop_instance_uid},
                      {"sop_class_uid", r.sop_class_uid},
                      {"series_uid", r.series_instance_uid},
                      {"study_uid", r.study_instance_uid},
                      {"instance_number", opt_json(r.instance_number)},
                      {"transfer_syntax", r.transfer_syntax_uid},
                      {"path", abs},
                      {"size", r.size}});
      table->add({opt(r.instance_number), r.sop_instance_uid, r.transfer_syntax_uid,
                  std::to_string(r.size), abs});
    }
  } else {
    std::cerr << "cloudfilm: ls: unknown listing '" << options.what
              << "' (patients, studies, series STUDYUID, instances SERIESUID)\n";
    return 2;
  }
  if (options.json) {
    std::cout << json.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    table->print(std::cout);
  }
  return 0;
}

} // namespace app
