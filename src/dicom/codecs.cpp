// SPDX-License-Identifier: GPL-3.0-or-later
#include "codecs.hpp"

#include "jpeg2000_codec.hpp"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcrledrg.h>
#include <dcmtk/dcmdata/dcrleerg.h>
#include <dcmtk/dcmimage/diregist.h> // colour images for the "cooked" JPEG/JPEG-LS encoders
#include <dcmtk/dcmjpeg/djdecode.h>
#include <dcmtk/dcmjpeg/djencode.h>
#include <dcmtk/dcmjpls/djdecode.h>
#include <dcmtk/dcmjpls/djencode.h>

namespace dicom {

namespace {

bool g_registered = false;

} // namespace

void
register_codecs()
{
  if (g_registered) {
    return;
  }
  // Decoders: keep the SOP Instance UID. dcmjpeg/dcmjpls set Lossy Image
  // Compression "01" after a lossy process, the others keep what is there
  // (PS3.3 C.7.6.1.1.5); YBR JPEG comes out as RGB.
  DJDecoderRegistration::registerCodecs(EDC_photometricInterpretation, EUC_never);
  DJLSDecoderRegistration::registerCodecs(EJLSUC_never);
  DcmRLEDecoderRegistration::registerCodecs(OFFalse);
  register_jpeg2000_decoder();

  // Encoders: we only ever ask for lossless ones, but make sure none of them
  // could mint a new instance behind our back.
  DJEncoderRegistration::registerCodecs(ECC_lossyYCbCr, EUC_never);
  // JPEG-LS: default T1-T3/RESET, cooked encoding, one fragment per frame,
  // offset table, no new UID, no conversion to Secondary Capture.
  DJLSEncoderRegistration::registerCodecs(0, 0, 0, 0, OFTrue, 0, OFTrue, EJLSUC_never, OFFalse);
  DcmRLEEncoderRegistration::registerCodecs(OFFalse);
  g_registered = true;
}

void
unregister_codecs()
{
  if (!g_registered) {
    return;
  }
  DJDecoderRegistration::cleanup();
  DJLSDecoderRegistration::cleanup();
  DcmRLEDecoderRegistration::cleanup();
  unregister_jpeg2000_decoder();
  DJEncoderRegistration::cleanup();
  DJLSEncoderRegistration::cleanup();
  DcmRLEEncoderRegistration::cleanup();
  g_registered = false;
}

} // namespace dicom
