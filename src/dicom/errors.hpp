// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <system_error>

namespace dicom {

// Why a file or dataset was refused.
enum class Errc {
  not_dicom = 1,    // no DICOM structure at all (skip it)
  malformed,        // claims to be DICOM but does not parse
  missing_uid,      // a required UID (SOP class/instance, study, series) is absent
  uid_mismatch,     // dataset disagrees with its meta header or the DIMSE command
  write_failed,     // could not write a Part 10 file
  cannot_transcode, // no codec path to the wanted transfer syntax, or the codec failed
};

const std::error_category& error_category();
std::error_code make_error_code(Errc e);

} // namespace dicom

template <> struct std::is_error_code_enum<dicom::Errc> : std::true_type
{
};
