// SPDX-License-Identifier: GPL-3.0-or-later
#include "part10.hpp"

#include "errors.hpp"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcmetinf.h>
#include <dcmtk/dcmdata/dcuid.h>

#include <cstring>
#include <exception>
#include <fstream>

namespace dicom {

bool
has_part10_magic(const std::filesystem::path& file)
{
  std::ifstream in(file, std::ios::binary);
  char buf[132];
  if (!in.read(buf, sizeof(buf))) {
    return false;
  }
  return std::memcmp(buf + 128, "DICM", 4) == 0;
}

core::Result<void>
write_as_part10(const std::filesystem::path& in, const std::filesystem::path& out)
{
  DcmFileFormat ff;
  try { // DCMTK 3.6.7 can throw on malformed input (see read_instance_info)
    if (ff.loadFile(in.c_str(), EXS_Unknown, EGL_noChange, DCM_MaxReadLength, ERM_autoDetect)
            .bad()) {
      return core::make_error(Errc::malformed, in.string());
    }
  } catch (const std::exception& e) {
    return core::make_error(Errc::malformed, in.string() + " (" + e.what() + ")");
  }
  const E_TransferSyntax xfer = ff.getDataset()->getOriginalXfer();
  const auto cond = ff.saveFile(out.c_str(), xfer, EET_UndefinedLength, EGL_recalcGL, EPD_noChange,
                                0, 0, EWM_updateMeta);
  if (cond.bad()) {
    return core::make_error(Errc::write_failed, out.string() + " (" + cond.text() + ")");
  }
  return {};
}

bool
is_dicomdir(const std::filesystem::path& file)
{
  if (!has_part10_magic(file)) {
    return false;
  }
  DcmMetaInfo meta;
  if (meta.loadFile(file.c_str()).bad()) {
    return false;
  }
  OFString sop_class;
  meta.findAndGetOFString(DCM_MediaStorageSOPClassUID, sop_class);
  return sop_class == UID_MediaStorageDirectoryStorage;
}

} // namespace dicom
