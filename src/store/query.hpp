// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "find.hpp"

#include <core/result.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

// Read access to what the store holds, for the command line and the network
// services. Text is UTF-8. Implementations are thread-safe.
namespace store {

struct PatientRow
{
  std::string patient_id;
  std::string patient_name;
  std::string birth_date;
  std::string sex;
  long study_count = 0;
  long series_count = 0;
  long instance_count = 0;
};

struct StudyRow
{
  std::string patient_id;
  std::string patient_name;
  std::string study_instance_uid;
  std::string study_date;
  std::string study_time;
  std::string accession_number;
  std::string study_id;
  std::string description;
  std::vector<std::string> modalities; // ModalitiesInStudy, sorted
  long series_count = 0;
  long instance_count = 0;
};

struct SeriesRow
{
  std::string study_instance_uid;
  std::string series_instance_uid;
  std::string modality;
  std::optional<long> series_number;
  std::string description;
  std::string series_date;
  std::string series_time;
  std::string body_part_examined;
  long instance_count = 0;
};

struct InstanceRow
{
  std::string study_instance_uid;
  std::string series_instance_uid;
  std::string sop_instance_uid;
  std::string sop_class_uid;
  std::optional<long> instance_number;
  std::string transfer_syntax_uid;
  std::filesystem::path path; // relative to the store root
  std::uint64_t size = 0;
};

class Query
{
public:
  virtual ~Query() = default;

  virtual core::Result<std::vector<PatientRow>> patients() = 0;
  // All studies, newest study date first.
  virtual core::Result<std::vector<StudyRow>> studies() = 0;
  // Series of a study by series number; empty if the study is unknown.
  virtual core::Result<std::vector<SeriesRow>> series(const std::string& study_uid) = 0;
  // Instances of a series by instance number.
  virtual core::Result<std::vector<InstanceRow>> instances(const std::string& series_uid) = 0;
  virtual core::Result<std::optional<InstanceRow>> instance(const std::string& sop_uid) = 0;

  // C-FIND (PS3.4 C.4.1): the matches of `request`, answered from the
  // index alone. Errors: FindErrc for a bad identifier, Errc::index_failed.
  virtual core::Result<FindResult> find(const FindRequest& request) = 0;

  // C-MOVE/C-GET (PS3.4 C.4.2, C.4.3): the instances an identifier of
  // unique keys designates, grouped by series. Errors as find().
  virtual core::Result<std::vector<RetrieveItem>> retrieve(const FindRequest& request) = 0;
};

} // namespace store
