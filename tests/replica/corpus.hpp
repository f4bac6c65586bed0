// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

// The fixture corpus of a replica (platforms.md 8.1): one study loaded from a
// folder of Part 10 files, everything a Hinacom viewer answers rendered once
// at start-up, every identifier derived from the DICOM UIDs by hashing.
namespace replica {

// A stable 32 hex digit name for `text` (name-based UUID, SHA-1).
std::string hash_hex(const std::string& text);

struct Instance
{
  std::filesystem::path file;
  std::string sop_instance_uid;
  std::string sop_class_uid;
  std::optional<long> instance_number;
  std::string image_id;                      // hash of the SOP Instance UID
  std::string tags_json;                     // GetImageDicomTags answer
  std::string image_frame;                   // X-ImageFrame header (ASCII JSON)
  std::shared_ptr<const std::string> native; // frame 0, little endian
  std::shared_ptr<const std::string> j2k;    // the same frame as JPEG 2000
};

struct Series
{
  std::string series_instance_uid;
  std::optional<long> number;
  std::string description;
  std::string modality;
  std::vector<Instance> instances; // by InstanceNumber, then SOP Instance UID
};

struct Study
{
  std::string study_instance_uid;
  std::string patient_name; // UTF-8
  std::string patient_id;
  std::string description;
  std::string date_time; // "YYYY-MM-DD HH:MM:SS" (or shorter when absent)
  std::string accession_number;
  std::string study_id;       // viewer STUDY_ID, images' studyId
  std::string exam_uid;       // STUDY_EXAM_UID
  std::vector<Series> series; // by SeriesNumber, then Series Instance UID
};

struct CorpusOptions
{
  bool include_binary = false;  // render OB/OW/UN... as hex text and SQ as "" (knob)
  bool bare_codestream = false; // J2K route: no JP2 boxes (knob)
  bool irreversible = false;    // J2K route: 9/7 wavelet (knob)
};

// Load every Part 10 file below `dir` (recursively; other files ignored).
// Throws std::runtime_error when there is no file or more than one study.
Study load_study(const std::filesystem::path& dir, const CorpusOptions& options);

} // namespace replica
