// SPDX-License-Identifier: GPL-3.0-or-later
#include "status.hpp"

#include <dicom/errors.hpp>
#include <store/errors.hpp>

namespace net::internal {

namespace {

constexpr std::uint16_t k_refused_out_of_resources = 0xA700;
constexpr std::uint16_t k_error_dataset_mismatch = 0xA900;
constexpr std::uint16_t k_error_cannot_understand = 0xC000;
constexpr std::uint16_t k_duplicate_sop_instance = 0x0111;

std::string
comment(const std::string& text)
{
  // LO: 64 characters; keep it ASCII, it goes into the command set.
  std::string out;
  for (const char c : text) {
    if (out.size() == 64) {
      break;
    }
    out += (c >= 0x20 && c < 0x7F && c != '\\') ? c : '?';
  }
  return out;
}

} // namespace

// PS3.4 B.2.3: A7xx Refused: Out of Resources for what may pass later (disk,
// index), A9xx Error: Data Set Does Not Match SOP Class, Cxxx Error: Cannot
// Understand; 0111 Duplicate SOP Instance (PS3.7 C.4.2.1) when the policy
// rejects duplicates.
DimseStatus
store_failure_status(const core::Error& error)
{
  const auto& code = error.code;
  if (code.category() == dicom::error_category()) {
    switch (static_cast<dicom::Errc>(code.value())) {
    case dicom::Errc::missing_uid:
    case dicom::Errc::uid_mismatch:
      return {k_error_dataset_mismatch, comment(error.detail)};
    case dicom::Errc::not_dicom:
    case dicom::Errc::malformed:
      return {k_error_cannot_understand, comment("dataset does not parse")};
    case dicom::Errc::write_failed:
    case dicom::Errc::cannot_transcode:
      break;
    }
    return {k_refused_out_of_resources, comment(code.message())};
  }
  if (code.category() == store::error_category()) {
    switch (static_cast<store::Errc>(code.value())) {
    case store::Errc::duplicate_rejected:
      return {k_duplicate_sop_instance, comment("SOP instance already stored")};
    case store::Errc::disk_full:
      return {k_refused_out_of_resources, comment("storage full")};
    case store::Errc::limit_reached:
      return {k_refused_out_of_resources, comment(error.detail)};
    case store::Errc::index_failed:
      return {k_refused_out_of_resources, comment("index unavailable")};
    case store::Errc::io_failed:
    case store::Errc::not_found:
      break;
    }
    return {k_refused_out_of_resources, comment("storage failure")};
  }
  return {k_refused_out_of_resources, comment(code.message())};
}

// PS3.4 C.4.1.1.4: A900 Identifier Does Not Match SOP Class for a wrong or
// missing level and unique keys (C.4.1.2.1), C000 Unable to Process for a
// value the SCP cannot match, A700 when the index fails.
DimseStatus
find_failure_status(const core::Error& error)
{
  const auto& code = error.code;
  if (code.category() == store::find_error_category()) {
    switch (static_cast<store::FindErrc>(code.value())) {
    case store::FindErrc::bad_level:
    case store::FindErrc::bad_unique_key:
    case store::FindErrc::missing_level:
      return {0xA900, comment(error.message())};
    case store::FindErrc::bad_value:
    case store::FindErrc::bad_charset:
      return {0xC000, comment(error.message())};
    }
  }
  return {k_refused_out_of_resources, comment("index unavailable")};
}

const char*
identifier_level_name(store::Level level)
{
  switch (level) {
  case store::Level::patient:
    return "PATIENT";
  case store::Level::study:
    return "STUDY";
  case store::Level::series:
    return "SERIES";
  case store::Level::image:
    return "IMAGE";
  }
  return "?";
}

} // namespace net::internal
