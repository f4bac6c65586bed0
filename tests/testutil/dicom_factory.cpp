// SPDX-License-Identifier: GPL-3.0-or-later
#include "dicom_factory.hpp"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcuid.h>

#include <stdexcept>
#include <vector>

namespace testutil {

std::filesystem::path
write_instance(const std::filesystem::path& file, const InstanceSpec& spec)
{
  DcmFileFormat ff;
  DcmDataset* ds = ff.getDataset();
  if (!spec.charset.empty()) {
    ds->putAndInsertString(DCM_SpecificCharacterSet, spec.charset.c_str());
  }
  if (spec.with_sop_class) {
    ds->putAndInsertString(DCM_SOPClassUID, UID_CTImageStorage);
  }
  ds->putAndInsertString(DCM_SOPInstanceUID, spec.uids.sop.c_str());
  ds->putAndInsertString(DCM_StudyInstanceUID, spec.uids.study.c_str());
  ds->putAndInsertString(DCM_SeriesInstanceUID, spec.uids.series.c_str());
  ds->putAndInsertString(DCM_PatientName, spec.patient_name.c_str());
  ds->putAndInsertString(DCM_PatientID, spec.patient_id.c_str());
  ds->putAndInsertString(DCM_StudyDate, spec.study_date.c_str());
  ds->putAndInsertString(DCM_StudyTime, spec.study_time.c_str());
  ds->putAndInsertString(DCM_Modality, spec.modality.c_str());
  ds->putAndInsertString(DCM_SeriesNumber, "2");
  ds->putAndInsertString(DCM_InstanceNumber, std::to_string(spec.instance_number).c_str());
  ds->putAndInsertUint16(DCM_Rows, 8);
  ds->putAndInsertUint16(DCM_Columns, 8);
  ds->putAndInsertUint16(DCM_BitsAllocated, 16);
  ds->putAndInsertUint16(DCM_BitsStored, 12);
  ds->putAndInsertUint16(DCM_HighBit, 11);
  ds->putAndInsertUint16(DCM_PixelRepresentation, 0);
  ds->putAndInsertUint16(DCM_SamplesPerPixel, 1);
  ds->putAndInsertString(DCM_PhotometricInterpretation, "MONOCHROME2");
  std::vector<Uint16> pixels(64);
  for (std::size_t i = 0; i < pixels.size(); ++i) {
    pixels[i] = static_cast<Uint16>(i * 31);
  }
  ds->putAndInsertUint16Array(DCM_PixelData, pixels.data(), 64);
  if (ff.saveFile(file.c_str(), EXS_LittleEndianExplicit).bad()) {
    throw std::runtime_error("cannot write " + file.string());
  }
  return file;
}

std::filesystem::path
write_instance(const std::filesystem::path& file, const Uids& uids)
{
  InstanceSpec spec;
  spec.uids = uids;
  return write_instance(file, spec);
}

std::filesystem::path
pydicom_data()
{
  const std::filesystem::path p = "/usr/lib/python3/dist-packages/pydicom/data";
  return std::filesystem::exists(p) ? p : std::filesystem::path();
}

} // namespace testutil
