// SPDX-License-Identifier: GPL-3.0-or-later
#include "errors.hpp"

#include <string>

namespace dicom {

namespace {

class Category : public std::error_category
{
public:
  const char* name() const noexcept override
  {
    return "dicom";
  }
  std::string message(int ev) const override
  {
    switch (static_cast<Errc>(ev)) {
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
};

} // namespace

const std::error_category&
error_category()
{
  static const Category k_category;
  return k_category;
}

std::error_code
make_error_code(Errc e)
{
  return {static_cast<int>(e), error_category()};
}

} // namespace dicom
