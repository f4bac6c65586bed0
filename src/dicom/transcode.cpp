// SPDX-License-Identifier: GPL-3.0-or-later
#include "transcode.hpp"

#include "errors.hpp"
#include "part10.hpp"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dccodec.h>
#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcmetinf.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmdata/dcxfer.h>

#include <algorithm>
#include <system_error>

namespace dicom {

namespace {

// In order of preference: no pixel processing at all (PS3.5 A.1-A.3, A.5).
const char* const k_native[] = {
    UID_LittleEndianExplicitTransferSyntax,
    UID_LittleEndianImplicitTransferSyntax,
    UID_BigEndianExplicitTransferSyntax,
    UID_DeflatedExplicitVRLittleEndianTransferSyntax,
};

// Lossless encodings we may produce, best compression first (DCMTK-NOTES
// 7.2). JPEG 2000 is missing: we only decode it.
const char* const k_lossless[] = {
    UID_JPEGLSLosslessTransferSyntax,
    UID_JPEGProcess14SV1TransferSyntax,
    UID_JPEGProcess14TransferSyntax,
    UID_RLELosslessTransferSyntax,
};

// UIDs from the wire may carry the trailing NUL/space padding of PS3.5 9.1.
std::string_view
clean(std::string_view uid)
{
  while (!uid.empty() && (uid.back() == '\0' || uid.back() == ' ')) {
    uid.remove_suffix(1);
  }
  return uid;
}

E_TransferSyntax
lookup(std::string_view uid)
{
  uid = clean(uid);
  if (uid.empty()) {
    return EXS_Unknown;
  }
  return DcmXfer(std::string(uid).c_str()).getXfer();
}

bool
decodable(E_TransferSyntax ts)
{
  if (ts == EXS_Unknown) {
    return false;
  }
  const DcmXfer xfer(ts);
  if (xfer.isReferenced()) {
    return false; // pixel data elsewhere (JPIP), nothing to decode here
  }
  return xfer.isNotEncapsulated() || DcmCodecList::canChangeCoding(ts, EXS_LittleEndianExplicit);
}

bool
encodable(E_TransferSyntax ts)
{
  if (ts == EXS_Unknown) {
    return false;
  }
  const DcmXfer xfer(ts);
  if (xfer.isReferenced()) {
    return false;
  }
  return xfer.isNotEncapsulated() || DcmCodecList::canChangeCoding(EXS_LittleEndianExplicit, ts);
}

std::string
sop_instance_uid(DcmDataset& ds)
{
  OFString uid;
  ds.findAndGetOFString(DCM_SOPInstanceUID, uid);
  return uid.c_str();
}

// Before DCMTK tries: say which half of "decode, then encode" is missing.
// Only matters when there is pixel data; without it any change is a rewrite.
std::string
missing_codec(DcmDataset& ds, E_TransferSyntax from, E_TransferSyntax to)
{
  if (!ds.tagExists(DCM_PixelData, OFTrue)) {
    return {};
  }
  const DcmXfer from_xfer(from);
  const DcmXfer to_xfer(to);
  if (from_xfer.isEncapsulated() && to_xfer.isEncapsulated()
      && DcmCodecList::canChangeCoding(from, to)) {
    return {}; // a codec that transcodes directly
  }
  if (from_xfer.isEncapsulated() && !decodable(from)) {
    return "no decoder registered";
  }
  if (to_xfer.isEncapsulated() && !encodable(to)) {
    return "no encoder registered";
  }
  return {};
}

} // namespace

bool
can_decode(std::string_view ts)
{
  return decodable(lookup(ts));
}

bool
can_encode(std::string_view ts)
{
  return encodable(lookup(ts));
}

std::string
choose_transfer_syntax(std::string_view stored_ts, const std::vector<std::string>& accepted)
{
  const auto accepts = [&accepted](std::string_view uid) {
    return std::any_of(accepted.begin(), accepted.end(),
                       [uid](const std::string& a) { return clean(a) == uid; });
  };
  const std::string_view stored = clean(stored_ts);
  if (!stored.empty() && accepts(stored)) {
    return std::string(stored);
  }
  if (!can_decode(stored)) {
    return {};
  }
  for (const char* uid : k_native) {
    if (accepts(uid)) {
      return uid;
    }
  }
  // Decoding lossy data and re-encoding it losslessly is fine: the pixel
  // values are those of the decoded image, and Lossy Image Compression stays
  // "01". Re-encoding lossily would lose more and is never done here.
  for (const char* uid : k_lossless) {
    if (accepts(uid) && can_encode(uid)) {
      return uid;
    }
  }
  return {};
}

core::Result<std::unique_ptr<DcmFileFormat>>
load_for_sending(const std::filesystem::path& file, const std::string& target_ts)
{
  const E_TransferSyntax target = lookup(target_ts);
  if (target == EXS_Unknown) {
    return core::make_error(Errc::cannot_transcode,
                            "unknown target transfer syntax '" + target_ts + "'");
  }
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) {
    return core::make_error(std::make_error_code(std::errc::no_such_file_or_directory),
                            file.string());
  }
  auto ff = std::make_unique<DcmFileFormat>();
  // Values longer than 4 KiB (pixel data) are read when first needed.
  if (const OFCondition cond = ff->loadFile(file.c_str()); cond.bad()) {
    return core::make_error(has_part10_magic(file) ? Errc::malformed : Errc::not_dicom,
                            file.string() + ": " + cond.text());
  }
  DcmDataset& ds = *ff->getDataset();
  const E_TransferSyntax stored = ds.getOriginalXfer();
  if (stored == target) {
    return ff;
  }
  const std::string from_uid = DcmXfer(stored).getXferID();
  const std::string to_uid = DcmXfer(target).getXferID();
  const auto fail = [&](const std::string& why) {
    return core::make_error(Errc::cannot_transcode, file.filename().string() + ": " + from_uid
                                                        + " to " + to_uid + ": " + why);
  };
  if (const auto missing = missing_codec(ds, stored, target); !missing.empty()) {
    return fail(missing);
  }

  const std::string sop_before = sop_instance_uid(ds);
  // Compressed to compressed: DCMTK decodes to native, then encodes
  // (dcpixel.cc DcmPixelData::encode). A failed encode of nested pixel data
  // (icons) is written native, which the standard allows (PS3.5 A.4).
  if (const OFCondition cond = ds.chooseRepresentation(target, nullptr); cond.bad()) {
    return fail(cond.text());
  }
  if (!ds.canWriteXfer(target, stored)) {
    return fail("the codec produced no pixel data in the target syntax");
  }
  // Keep one copy of the pixel data; the original can be large.
  ds.removeAllButCurrentRepresentations();
  if (sop_instance_uid(ds) != sop_before) {
    return core::make_error(Errc::uid_mismatch, file.filename().string() + ": converting "
                                                    + from_uid + " to " + to_uid
                                                    + " changed the SOP Instance UID");
  }
  ff->getMetaInfo()->putAndInsertString(DCM_TransferSyntaxUID, to_uid.c_str());
  return ff;
}

} // namespace dicom
