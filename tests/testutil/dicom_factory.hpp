// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <filesystem>
#include <string>

namespace testutil {

struct Uids
{
  std::string study;
  std::string series;
  std::string sop;
};

struct InstanceSpec
{
  Uids uids;
  std::string patient_name = "Test^Patient";
  std::string patient_id = "P1";
  std::string charset; // SpecificCharacterSet; empty: none
  std::string modality = "CT";
  std::string study_date = "20240131";
  std::string study_time = "101500";
  int instance_number = 1;
  bool with_sop_class = true;
};

// Write a small 8x8 16-bit CT image as a Part 10 file (explicit VR LE).
// `patient_name` bytes are written as given (encode them yourself).
std::filesystem::path write_instance(const std::filesystem::path& file, const InstanceSpec& spec);

// Shorthand with default patient data.
std::filesystem::path write_instance(const std::filesystem::path& file, const Uids& uids);

// pydicom's data folder (python3-pydicom), or empty if not installed.
std::filesystem::path pydicom_data();

} // namespace testutil
