// SPDX-License-Identifier: GPL-3.0-or-later
#include "errors.hpp"

#include <core/error_category.hpp>

#include <string>

namespace dicom {

namespace {

const char*
describe(Errc e)
{
  switch (e) {
  case Errc::not_dicom:
    return "not a DICOM file";
  case Errc::malformed:
    return "malformed DICOM";
  case Errc::missing_uid:
    return "required UID missing";
  case Errc::uid_mismatch:
    return "UIDs do not agree";
  case Errc::write_failed:
    return "cannot write DICOM file";
  case Errc::cannot_transcode:
    return "cannot change transfer syntax";
  }
  return "unknown dicom error";
}

} // namespace

const std::error_category&
error_category()
{
  static const core::EnumCategory<Errc> k_category{"dicom", &describe};
  return k_category;
}

std::error_code
make_error_code(Errc e)
{
  return {static_cast<int>(e), error_category()};
}

} // namespace dicom
