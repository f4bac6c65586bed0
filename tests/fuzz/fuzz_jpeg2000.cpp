// SPDX-License-Identifier: GPL-3.0-or-later
// (b) JPEG 2000: JP2 box walk (jpeg2000_codestream), the SIZ/COD main
// header reader and OpenJPEG decoding behind dicom::reassemble, and our
// DcmCodec decoder (jpeg2000_codec.cpp) on encapsulated Pixel Data.
// Input: first byte selects the path (even: reassemble, odd: DcmCodec), the
// rest is the pixel body.
#include "fuzz_common.hpp"

#include <dicom/reassemble.hpp>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcmetinf.h>
#include <dcmtk/dcmdata/dcpixel.h>
#include <dcmtk/dcmdata/dcpixseq.h>
#include <dcmtk/dcmdata/dcpxitem.h>
#include <dcmtk/dcmdata/dcxfer.h>

#include <cstring>
#include <memory>

namespace {

std::vector<dicom::TextTag>
base_tags()
{
  return {
      {0x0008, 0x0016, "1.2.840.10008.5.1.4.1.1.7"},
      {0x0008, 0x0018, "1.2.3.4.5.6.7"},
      {0x0020, 0x000D, "1.2.3.4"},
      {0x0020, 0x000E, "1.2.3.4.5"},
      {0x0008, 0x0060, "OT"},
  };
}

void
via_reassemble(std::string_view pixels)
{
  (void)dicom::jpeg2000_codestream(pixels);
  const auto out = cf_fuzz::scratch() / "j2k.dcm";
  (void)dicom::reassemble(base_tags(), pixels, out);
  std::error_code ec;
  std::filesystem::remove(out, ec);
}

// Encapsulated Pixel Data (PS3.5 A.4) holding `codestream` as one fragment,
// with the Image Pixel module a receiver would get in a C-STORE, then
// decompressed by DCMTK through our decoder.
void
via_codec(std::string_view body)
{
  if (body.size() < 4) {
    return;
  }
  const auto* p = reinterpret_cast<const unsigned char*>(body.data());
  const Uint16 rows = static_cast<Uint16>(1 + (p[0] & 0x3F));
  const Uint16 columns = static_cast<Uint16>(1 + (p[1] & 0x3F));
  const Uint16 samples = (p[2] & 1) ? 3 : 1;
  const Uint16 bits = (p[2] & 2) ? 16 : 8;
  const bool lossless = (p[2] & 4) != 0;
  const char* frames = (p[2] & 8) ? "2" : "1";
  const std::string_view codestream = body.substr(3);

  DcmFileFormat ff;
  DcmDataset& ds = *ff.getDataset();
  ds.putAndInsertString(DCM_SOPClassUID, "1.2.840.10008.5.1.4.1.1.7");
  ds.putAndInsertString(DCM_SOPInstanceUID, "1.2.3.4.5.6.7");
  ds.putAndInsertUint16(DCM_Rows, rows);
  ds.putAndInsertUint16(DCM_Columns, columns);
  ds.putAndInsertUint16(DCM_SamplesPerPixel, samples);
  ds.putAndInsertString(DCM_PhotometricInterpretation, samples == 3 ? "RGB" : "MONOCHROME2");
  if (samples == 3) {
    ds.putAndInsertUint16(DCM_PlanarConfiguration, 0);
  }
  ds.putAndInsertUint16(DCM_BitsAllocated, bits);
  ds.putAndInsertUint16(DCM_BitsStored, bits);
  ds.putAndInsertUint16(DCM_HighBit, static_cast<Uint16>(bits - 1));
  ds.putAndInsertUint16(DCM_PixelRepresentation, 0);
  ds.putAndInsertString(DCM_NumberOfFrames, frames);

  auto seq = std::make_unique<DcmPixelSequence>(DCM_PixelSequenceTag);
  seq->insert(new DcmPixelItem(DCM_PixelItemTag));
  auto fragment = std::make_unique<DcmPixelItem>(DCM_PixelItemTag);
  const std::size_t padded = codestream.size() + (codestream.size() & 1U);
  Uint8* bytes = nullptr;
  if (fragment->createUint8Array(static_cast<Uint32>(padded), bytes).bad()) {
    return;
  }
  if (!codestream.empty()) {
    std::memcpy(bytes, codestream.data(), codestream.size());
  }
  if (padded != codestream.size()) {
    bytes[codestream.size()] = 0;
  }
  seq->insert(fragment.release());
  auto pixel = std::make_unique<DcmPixelData>(DCM_PixelData);
  const E_TransferSyntax xfer = lossless ? EXS_JPEG2000LosslessOnly : EXS_JPEG2000;
  pixel->putOriginalRepresentation(xfer, nullptr, seq.release());
  ds.insert(pixel.release(), OFTrue);
  ff.getMetaInfo()->putAndInsertString(DCM_TransferSyntaxUID, DcmXfer(xfer).getXferID());

  if (ds.chooseRepresentation(EXS_LittleEndianExplicit, nullptr).good()) {
    (void)ds.canWriteXfer(EXS_LittleEndianExplicit);
  }
}

} // namespace

extern "C" int
LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  cf_fuzz::init();
  if (size < 1) {
    return 0;
  }
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  if ((data[0] & 1) == 0) {
    via_reassemble(body);
  } else {
    via_codec(body);
  }
  return 0;
}
