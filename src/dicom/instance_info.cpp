// SPDX-License-Identifier: GPL-3.0-or-later
#include "instance_info.hpp"

#include "charset.hpp"
#include "errors.hpp"
#include "nesting.hpp"
#include "part10.hpp"

#include <core/strings.hpp>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcmetinf.h>
#include <dcmtk/dcmdata/dcxfer.h>

#include <cstdlib>
#include <exception>

namespace dicom {

namespace {

std::string
get(DcmItem& item, const DcmTagKey& tag)
{
  OFString value;
  if (item.findAndGetOFStringArray(tag, value).bad()) {
    return {};
  }
  return std::string(core::trim(std::string_view(value.c_str(), value.size())));
}

std::optional<long>
get_int(DcmItem& item, const DcmTagKey& tag)
{
  const auto text = get(item, tag);
  if (text.empty()) {
    return std::nullopt;
  }
  char* end = nullptr;
  const long v = std::strtol(text.c_str(), &end, 10);
  if (end == text.c_str() || *end != '\0') {
    return std::nullopt;
  }
  return v;
}

} // namespace

core::Result<InstanceInfo>
read_instance_info(const std::filesystem::path& file, const ReadOptions& options)
{
  const bool magic = has_part10_magic(file);
  if (options.require_meta && !magic) {
    return core::make_error(Errc::not_dicom, "no DICOM Part 10 header");
  }
  if (!nesting_within(file)) {
    return core::make_error(Errc::malformed, "sequences nested deeper than "
                                                 + std::to_string(k_max_sequence_depth)
                                                 + " levels");
  }
  DcmFileFormat ff;
  // Values longer than 4 KiB (pixel data) stay on disk, unread. DCMTK 3.6.7
  // can throw while reading: std::out_of_range from DcmByteString::verify()
  // for a directory record whose type element runs past its item (found by
  // fuzzing); that is a malformed file, not a reason to end the caller.
  OFCondition cond = EC_Normal;
  try {
    cond = ff.loadFile(file.c_str(), EXS_Unknown, EGL_noChange, 4096,
                       magic ? ERM_fileOnly : ERM_autoDetect);
  } catch (const std::exception& e) {
    return core::make_error(magic ? Errc::malformed : Errc::not_dicom, e.what());
  }
  if (cond.bad()) {
    return core::make_error(magic ? Errc::malformed : Errc::not_dicom, cond.text());
  }
  DcmDataset& ds = *ff.getDataset();
  ds.findAndDeleteElement(DCM_PixelData); // never needed here; keeps copies cheap
  InstanceInfo info;
  info.sop_class_uid = get(ds, DCM_SOPClassUID);
  info.sop_instance_uid = get(ds, DCM_SOPInstanceUID);
  if (!magic && info.sop_class_uid.empty() && info.sop_instance_uid.empty()) {
    // A raw dataset without meta and without SOP UIDs is not something we can
    // tell from random bytes; call it not DICOM.
    return core::make_error(Errc::not_dicom, "no SOP UIDs");
  }
  info.study_instance_uid = get(ds, DCM_StudyInstanceUID);
  info.series_instance_uid = get(ds, DCM_SeriesInstanceUID);
  for (const auto& [value, name] : {std::pair{&info.sop_class_uid, "SOPClassUID"},
                                    std::pair{&info.sop_instance_uid, "SOPInstanceUID"},
                                    std::pair{&info.study_instance_uid, "StudyInstanceUID"},
                                    std::pair{&info.series_instance_uid, "SeriesInstanceUID"}}) {
    if (value->empty()) {
      return core::make_error(Errc::missing_uid, std::string(name) + " missing");
    }
  }
  if (magic) {
    DcmMetaInfo& meta = *ff.getMetaInfo();
    const auto media_sop = get(meta, DCM_MediaStorageSOPInstanceUID);
    if (!media_sop.empty() && media_sop != info.sop_instance_uid) {
      return core::make_error(Errc::uid_mismatch, "MediaStorageSOPInstanceUID " + media_sop
                                                      + " != SOPInstanceUID "
                                                      + info.sop_instance_uid);
    }
    info.transfer_syntax_uid = get(meta, DCM_TransferSyntaxUID);
  }
  if (info.transfer_syntax_uid.empty()) {
    info.transfer_syntax_uid = DcmXfer(ds.getOriginalXfer()).getXferID();
  }

  info.specific_character_set = get(ds, DCM_SpecificCharacterSet);
  info.charset_note = decode_to_utf8(ds, options.fallback_charset);

  info.patient_id = get(ds, DCM_PatientID);
  info.issuer_of_patient_id = get(ds, DCM_IssuerOfPatientID);
  info.patient_name = get(ds, DCM_PatientName);
  info.patient_birth_date = get(ds, DCM_PatientBirthDate);
  info.patient_sex = get(ds, DCM_PatientSex);

  info.study_date = get(ds, DCM_StudyDate);
  info.study_time = get(ds, DCM_StudyTime);
  info.accession_number = get(ds, DCM_AccessionNumber);
  info.study_id = get(ds, DCM_StudyID);
  info.study_description = get(ds, DCM_StudyDescription);
  info.referring_physician_name = get(ds, DCM_ReferringPhysicianName);
  info.patient_age = get(ds, DCM_PatientAge);

  info.modality = get(ds, DCM_Modality);
  info.series_number = get_int(ds, DCM_SeriesNumber);
  info.series_description = get(ds, DCM_SeriesDescription);
  info.series_date = get(ds, DCM_SeriesDate);
  info.series_time = get(ds, DCM_SeriesTime);
  info.body_part_examined = get(ds, DCM_BodyPartExamined);
  info.performing_physician_name = get(ds, DCM_PerformingPhysicianName);
  info.institution_name = get(ds, DCM_InstitutionName);
  info.protocol_name = get(ds, DCM_ProtocolName);
  info.station_name = get(ds, DCM_StationName);
  info.manufacturer = get(ds, DCM_Manufacturer);

  info.instance_number = get_int(ds, DCM_InstanceNumber);
  info.instance_creation_date = get(ds, DCM_InstanceCreationDate);
  info.instance_creation_time = get(ds, DCM_InstanceCreationTime);
  info.content_date = get(ds, DCM_ContentDate);
  info.content_time = get(ds, DCM_ContentTime);
  info.image_comments = get(ds, DCM_ImageComments);
  info.number_of_frames = get_int(ds, DCM_NumberOfFrames);
  info.rows = get_int(ds, DCM_Rows);
  info.columns = get_int(ds, DCM_Columns);
  return info;
}

} // namespace dicom
