// SPDX-License-Identifier: GPL-3.0-or-later
#include "transfer_syntax.hpp"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcxfer.h>

#include <string>

namespace dicom {

namespace {

E_TransferSyntax
lookup(std::string_view uid)
{
  return DcmXfer(std::string(uid).c_str()).getXfer();
}

} // namespace

bool
can_receive(std::string_view uid)
{
  // Mirrors the switch in dcmnet/libsrc/dimse.cc getTransferSyntax() @3.6.7.
  switch (lookup(uid)) {
  case EXS_LittleEndianImplicit:
  case EXS_LittleEndianExplicit:
  case EXS_BigEndianExplicit:
  case EXS_DeflatedLittleEndianExplicit:
  case EXS_JPEGProcess1:
  case EXS_JPEGProcess2_4:
  case EXS_JPEGProcess3_5:
  case EXS_JPEGProcess6_8:
  case EXS_JPEGProcess7_9:
  case EXS_JPEGProcess10_12:
  case EXS_JPEGProcess11_13:
  case EXS_JPEGProcess14:
  case EXS_JPEGProcess15:
  case EXS_JPEGProcess16_18:
  case EXS_JPEGProcess17_19:
  case EXS_JPEGProcess20_22:
  case EXS_JPEGProcess21_23:
  case EXS_JPEGProcess24_26:
  case EXS_JPEGProcess25_27:
  case EXS_JPEGProcess28:
  case EXS_JPEGProcess29:
  case EXS_JPEGProcess14SV1:
  case EXS_RLELossless:
  case EXS_JPEGLSLossless:
  case EXS_JPEGLSLossy:
  case EXS_JPEG2000LosslessOnly:
  case EXS_JPEG2000:
  case EXS_JPEG2000MulticomponentLosslessOnly:
  case EXS_JPEG2000Multicomponent:
  case EXS_MPEG2MainProfileAtMainLevel:
  case EXS_MPEG2MainProfileAtHighLevel:
  case EXS_MPEG4HighProfileLevel4_1:
  case EXS_MPEG4BDcompatibleHighProfileLevel4_1:
  case EXS_MPEG4HighProfileLevel4_2_For2DVideo:
  case EXS_MPEG4HighProfileLevel4_2_For3DVideo:
  case EXS_MPEG4StereoHighProfileLevel4_2:
  case EXS_HEVCMainProfileLevel5_1:
  case EXS_HEVCMain10ProfileLevel5_1:
    return true;
  default:
    return false;
  }
}

bool
is_encapsulated(std::string_view uid)
{
  const DcmXfer xfer(std::string(uid).c_str());
  return xfer.getXfer() != EXS_Unknown && xfer.isEncapsulated();
}

const char*
transfer_syntax_name(std::string_view uid)
{
  const DcmXfer xfer(std::string(uid).c_str());
  return xfer.getXfer() == EXS_Unknown ? "unknown" : xfer.getXferName();
}

} // namespace dicom
