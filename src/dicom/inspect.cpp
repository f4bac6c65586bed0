// SPDX-License-Identifier: GPL-3.0-or-later
#include "inspect.hpp"

#include <core/strings.hpp>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcxfer.h>

#include <algorithm>
#include <system_error>

namespace dicom {

namespace {

// Native pixel data must hold Rows x Columns x Samples x Frames samples
// (PS3.5 8.1.1; 4:2:2 data two samples per pixel, PS3.3 C.7.6.3.1.2).
bool
pixels_complete(DcmDataset& ds)
{
  DcmElement* pixel = nullptr;
  if (ds.findAndGetElement(DCM_PixelData, pixel).bad() || pixel == nullptr) {
    // An image whose pixel data is missing was cut right before it.
    return !ds.tagExists(DCM_Rows) || ds.tagExists(DCM_FloatPixelData)
           || ds.tagExists(DCM_DoubleFloatPixelData);
  }
  if (DcmXfer(ds.getOriginalXfer()).isEncapsulated()) {
    return true; // the fragments parsed to the sequence delimiter
  }
  Uint16 rows = 0;
  Uint16 columns = 0;
  Uint16 samples = 1;
  Uint16 allocated = 0;
  Sint32 frames = 1;
  ds.findAndGetUint16(DCM_Rows, rows);
  ds.findAndGetUint16(DCM_Columns, columns);
  ds.findAndGetUint16(DCM_SamplesPerPixel, samples);
  ds.findAndGetUint16(DCM_BitsAllocated, allocated);
  ds.findAndGetSint32(DCM_NumberOfFrames, frames);
  OFString photometric;
  ds.findAndGetOFString(DCM_PhotometricInterpretation, photometric);
  if (photometric == "YBR_FULL_422" || photometric == "YBR_PARTIAL_422") {
    samples = 2;
  }
  const std::uint64_t count = std::uint64_t{rows} * columns * std::max<Uint16>(samples, 1)
                              * static_cast<std::uint64_t>(std::max<Sint32>(frames, 1));
  const std::uint64_t expected = allocated == 1 ? (count + 7) / 8 : count * ((allocated + 7U) / 8U);
  return pixel->getLength() >= expected;
}

} // namespace

std::optional<CopyQuality>
inspect_copy(const std::filesystem::path& file, std::string& why)
{
  DcmFileFormat ff;
  // Values over 4 KiB (pixel data) are only skipped over, not loaded.
  OFCondition cond = EC_Normal;
  try { // DCMTK 3.6.7 can throw on malformed input (see dicom::read_instance_info)
    cond = ff.loadFile(file.c_str(), EXS_Unknown, EGL_noChange, 4096, ERM_autoDetect);
  } catch (const std::exception& e) {
    why = std::string("does not parse (") + e.what() + ")";
    return std::nullopt;
  }
  DcmDataset& ds = *ff.getDataset();
  OFString uid;
  ds.findAndGetOFString(DCM_SOPInstanceUID, uid);
  const std::string sop(core::trim(std::string_view(uid.c_str(), uid.size())));
  if (sop.empty()) {
    why = cond.bad() ? std::string("does not parse (") + cond.text() + ")"
                     : std::string("no SOP Instance UID");
    return std::nullopt;
  }
  CopyQuality q;
  q.sop_instance_uid = sop;
  q.complete = cond.good() && pixels_complete(ds);
  std::error_code ec;
  q.size = std::filesystem::file_size(file, ec);
  return q;
}

} // namespace dicom
