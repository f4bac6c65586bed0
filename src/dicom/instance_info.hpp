// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <core/result.hpp>

#include <filesystem>
#include <optional>
#include <string>

namespace dicom {

// The attributes the index keeps for one instance, decoded to UTF-8 and
// trimmed. Patient/study/series fields come from this instance; the index
// keeps the first instance's values for each entity. Empty = absent.
struct InstanceInfo
{
  // Patient (PS3.4 C.6.1.1.2)
  std::string patient_id;
  std::string issuer_of_patient_id;
  std::string patient_name; // full PN value, all component groups
  std::string patient_birth_date;
  std::string patient_sex;

  // Study (PS3.4 C.6.1.1.3)
  std::string study_instance_uid;
  std::string study_date;
  std::string study_time;
  std::string accession_number;
  std::string study_id;
  std::string study_description;
  std::string referring_physician_name;
  std::string patient_age;

  // Series (PS3.4 C.6.1.1.4)
  std::string series_instance_uid;
  std::string modality;
  std::optional<long> series_number;
  std::string series_description;
  std::string series_date;
  std::string series_time;
  std::string body_part_examined;
  std::string performing_physician_name;
  std::string institution_name;
  std::string protocol_name;
  std::string station_name;
  std::string manufacturer;

  // Instance (PS3.4 C.6.1.1.5)
  std::string sop_class_uid;
  std::string sop_instance_uid;
  std::optional<long> instance_number;
  std::string instance_creation_date;
  std::string instance_creation_time;
  std::string content_date;
  std::string content_time;
  std::string image_comments;
  std::optional<long> number_of_frames;
  std::optional<long> rows;
  std::optional<long> columns;

  // File
  std::string transfer_syntax_uid;    // from the meta header
  std::string specific_character_set; // as found in the file
  std::string charset_note;           // non-empty if decoding needed a fallback
};

struct ReadOptions
{
  // Assumed for non-ASCII text that is neither declared usably nor UTF-8.
  std::string fallback_charset = "GB18030";
  // Accept a dataset without File Meta Information (import); C-STORE files
  // always have one.
  bool require_meta = true;
};

// Read the header of a DICOM file (everything before Pixel Data) and decode
// the indexed attributes to UTF-8. Errors: dicom::Errc::not_dicom (no DICOM
// structure), malformed, missing_uid (SOP class/instance, study or series UID
// absent), uid_mismatch (meta header disagrees with the dataset).
core::Result<InstanceInfo> read_instance_info(const std::filesystem::path& file,
                                              const ReadOptions& options = {});

} // namespace dicom
