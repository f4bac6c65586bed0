// SPDX-License-Identifier: GPL-3.0-or-later
#include "testutil/dicom_factory.hpp"
#include "testutil/temp_dir.hpp"

#include <dicom/codecs.hpp>
#include <dicom/errors.hpp>
#include <dicom/jpeg2000_codec.hpp>
#include <dicom/openjpeg_memory.hpp>
#include <dicom/transcode.hpp>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcmetinf.h>
#include <dcmtk/dcmdata/dcpixel.h>
#include <dcmtk/dcmdata/dcpixseq.h>
#include <dcmtk/dcmdata/dcpxitem.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmdata/dcxfer.h>
#include <doctest/doctest.h>
#include <openjpeg.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using Bytes = std::vector<std::uint8_t>;

const std::string k_explicit = UID_LittleEndianExplicitTransferSyntax;
const std::string k_implicit = UID_LittleEndianImplicitTransferSyntax;
const std::string k_big = UID_BigEndianExplicitTransferSyntax;
const std::string k_deflate = UID_DeflatedExplicitVRLittleEndianTransferSyntax;
const std::string k_jpeg_ls = UID_JPEGLSLosslessTransferSyntax;
const std::string k_jpeg_ls_near = UID_JPEGLSLossyTransferSyntax;
const std::string k_jpeg_sv1 = UID_JPEGProcess14SV1TransferSyntax;
const std::string k_jpeg_p14 = UID_JPEGProcess14TransferSyntax;
const std::string k_jpeg_baseline = UID_JPEGProcess1TransferSyntax;
const std::string k_jpeg_extended = UID_JPEGProcess2_4TransferSyntax;
const std::string k_rle = UID_RLELosslessTransferSyntax;
const std::string k_j2k_lossless = UID_JPEG2000LosslessOnlyTransferSyntax;
const std::string k_j2k = UID_JPEG2000TransferSyntax;
const std::string k_mpeg2 = UID_MPEG2MainProfileAtMainLevelTransferSyntax;

// pydicom's test files, or empty (tests using them skip).
std::filesystem::path
files()
{
  const auto data = testutil::pydicom_data();
  return data.empty() ? data : data / "test_files";
}

std::unique_ptr<DcmFileFormat>
load(const std::filesystem::path& file, const std::string& ts)
{
  auto result = dicom::load_for_sending(file, ts);
  REQUIRE_MESSAGE(result, file.filename().string()
                              << " → " << ts << ": " << result.error().message());
  return std::move(*result);
}

Bytes
pixel_bytes(DcmFileFormat& ff)
{
  DcmElement* element = nullptr;
  REQUIRE(ff.getDataset()->findAndGetElement(DCM_PixelData, element).good());
  Uint8* data = nullptr;
  REQUIRE(element->getUint8Array(data).good());
  REQUIRE(data != nullptr);
  return Bytes(data, data + element->getLength());
}

std::string
get(DcmItem& item, const DcmTagKey& tag)
{
  OFString value;
  item.findAndGetOFStringArray(tag, value);
  return value.c_str();
}

std::string
sop_uid(DcmFileFormat& ff)
{
  return get(*ff.getDataset(), DCM_SOPInstanceUID);
}

Uint16
get_u16(DcmItem& item, const DcmTagKey& tag)
{
  Uint16 value = 0;
  item.findAndGetUint16(tag, value);
  return value;
}

// Sample `s` of pixel (row, col) of an 8-bit image with `spp` samples.
int
sample8(const Bytes& px, int columns, int spp, int row, int col, int s)
{
  return px.at((static_cast<std::size_t>(row) * columns + col) * spp + s);
}

// Pixel (row, col) of a 16-bit single-sample image, read as signed.
int
sample16s(const Bytes& px, int columns, int row, int col)
{
  const std::size_t i = (static_cast<std::size_t>(row) * columns + col) * 2;
  return static_cast<std::int16_t>(px.at(i) | px.at(i + 1) << 8);
}

// Uncompressed pixels of `file` (any syntax), as Explicit VR Little Endian.
Bytes
reference(const std::filesystem::path& file)
{
  auto ff = load(file, k_explicit);
  return pixel_bytes(*ff);
}

// The first fragment after the Basic Offset Table of an encapsulated file.
Bytes
first_fragment(const std::filesystem::path& file)
{
  DcmFileFormat ff;
  REQUIRE(ff.loadFile(file.c_str()).good());
  DcmDataset& ds = *ff.getDataset();
  DcmElement* element = nullptr;
  REQUIRE(ds.findAndGetElement(DCM_PixelData, element).good());
  DcmPixelSequence* seq = nullptr;
  REQUIRE(static_cast<DcmPixelData*>(element)
              ->getEncapsulatedRepresentation(ds.getOriginalXfer(), nullptr, seq)
              .good());
  REQUIRE(seq != nullptr);
  DcmPixelItem* item = nullptr;
  REQUIRE(seq->getItem(item, 1).good());
  Uint8* data = nullptr;
  REQUIRE(item->getUint8Array(data).good());
  return Bytes(data, data + item->getLength());
}

void
put_le32(Bytes& out, std::uint32_t v)
{
  for (int i = 0; i < 4; ++i) {
    out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  }
}

// Replace the Pixel Data of `ds` by an encapsulated sequence of `fragments`
// (each padded to even length), with a Basic Offset Table pointing at the
// fragments listed in `frame_starts` if it is not empty (PS3.5 A.4).
void
put_encapsulated(DcmDataset& ds, E_TransferSyntax ts, std::vector<Bytes> fragments,
                 const std::vector<std::size_t>& frame_starts = {})
{
  for (auto& f : fragments) {
    if (f.size() % 2 != 0) {
      f.push_back(0);
    }
  }
  Bytes table;
  for (const std::size_t start : frame_starts) {
    std::uint32_t offset = 0;
    for (std::size_t i = 0; i < start; ++i) {
      offset += static_cast<std::uint32_t>(8 + fragments[i].size());
    }
    put_le32(table, offset);
  }
  auto* seq = new DcmPixelSequence(DCM_PixelSequenceTag);
  auto* bot = new DcmPixelItem(DCM_PixelItemTag);
  if (!table.empty()) {
    REQUIRE(bot->putUint8Array(table.data(), static_cast<Uint32>(table.size())).good());
  }
  seq->insert(bot);
  for (const auto& f : fragments) {
    auto* item = new DcmPixelItem(DCM_PixelItemTag);
    REQUIRE(item->putUint8Array(f.data(), static_cast<Uint32>(f.size())).good());
    seq->insert(item);
  }
  auto* px = new DcmPixelData(DCM_PixelData);
  px->putOriginalRepresentation(ts, nullptr, seq);
  REQUIRE(ds.insert(px, OFTrue).good());
}

// Save `ff` in `ts` as `name` under `dir`.
std::filesystem::path
save(DcmFileFormat& ff, const std::filesystem::path& dir, const char* name, const std::string& ts)
{
  const auto path = dir / name;
  const OFCondition cond = ff.saveFile(path.c_str(), DcmXfer(ts.c_str()).getXfer());
  REQUIRE_MESSAGE(cond.good(), cond.text());
  return path;
}

// --- OpenJPEG encoder for test data ----------------------------------------

struct Sink
{
  Bytes data;
  std::size_t position = 0;
};

OPJ_SIZE_T
sink_write(void* buffer, OPJ_SIZE_T n, void* user)
{
  auto& sink = *static_cast<Sink*>(user);
  if (sink.position + n > sink.data.size()) {
    sink.data.resize(sink.position + n);
  }
  std::memcpy(sink.data.data() + sink.position, buffer, n);
  sink.position += n;
  return n;
}

OPJ_OFF_T
sink_skip(OPJ_OFF_T n, void* user)
{
  auto& sink = *static_cast<Sink*>(user);
  sink.position += static_cast<std::size_t>(n);
  if (sink.position > sink.data.size()) {
    sink.data.resize(sink.position);
  }
  return n;
}

OPJ_BOOL
sink_seek(OPJ_OFF_T n, void* user)
{
  auto& sink = *static_cast<Sink*>(user);
  sink.position = static_cast<std::size_t>(n);
  if (sink.position > sink.data.size()) {
    sink.data.resize(sink.position);
  }
  return OPJ_TRUE;
}

// Losslessly encode a signed 16-bit single-sample image as a raw codestream
// (J2K) or a JP2 file.
Bytes
encode_jpeg2000(const std::vector<std::int16_t>& samples, int rows, int columns,
                OPJ_CODEC_FORMAT format)
{
  opj_image_cmptparm_t component{};
  component.dx = 1;
  component.dy = 1;
  component.w = static_cast<OPJ_UINT32>(columns);
  component.h = static_cast<OPJ_UINT32>(rows);
  component.prec = 16;
  component.sgnd = 1;
  opj_image_t* image = opj_image_create(1, &component, OPJ_CLRSPC_GRAY);
  REQUIRE(image != nullptr);
  image->x1 = static_cast<OPJ_UINT32>(columns);
  image->y1 = static_cast<OPJ_UINT32>(rows);
  for (std::size_t i = 0; i < samples.size(); ++i) {
    image->comps[0].data[i] = samples[i];
  }
  opj_cparameters_t parameters;
  opj_set_default_encoder_parameters(&parameters);
  parameters.tcp_numlayers = 1;
  parameters.tcp_rates[0] = 0; // lossless
  parameters.cp_disto_alloc = 1;
  parameters.irreversible = 0;
  opj_codec_t* codec = opj_create_compress(format);
  REQUIRE(opj_setup_encoder(codec, &parameters, image));
  Sink sink;
  opj_stream_t* stream = opj_stream_create(OPJ_J2K_STREAM_CHUNK_SIZE, OPJ_FALSE);
  opj_stream_set_user_data(stream, &sink, nullptr);
  opj_stream_set_write_function(stream, sink_write);
  opj_stream_set_skip_function(stream, sink_skip);
  opj_stream_set_seek_function(stream, sink_seek);
  const bool ok = opj_start_compress(codec, image, stream) && opj_encode(codec, stream)
                  && opj_end_compress(codec, stream);
  opj_stream_destroy(stream);
  opj_destroy_codec(codec);
  opj_image_destroy(image);
  REQUIRE(ok);
  return sink.data;
}

std::vector<std::int16_t>
as_int16(const Bytes& px)
{
  std::vector<std::int16_t> out(px.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<std::int16_t>(px[2 * i] | px[2 * i + 1] << 8);
  }
  return out;
}

Bytes
as_bytes(const std::vector<std::int16_t>& samples)
{
  Bytes out;
  for (const auto s : samples) {
    out.push_back(static_cast<std::uint8_t>(s & 0xFF));
    out.push_back(static_cast<std::uint8_t>((s >> 8) & 0xFF));
  }
  return out;
}

// `codestream` with the SIZ image and tile size set to `width` x `height`,
// one tile (ISO/IEC 15444-1 A.5.1: Xsiz at byte 8, Ysiz 12, XOsiz 16,
// YOsiz 20, XTsiz 24, YTsiz 28).
Bytes
with_siz(Bytes codestream, std::uint32_t width, std::uint32_t height)
{
  REQUIRE(codestream.size() > 40);
  const auto put = [&](std::size_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) {
      codestream[at + i] = static_cast<std::uint8_t>(v >> (24 - 8 * i));
    }
  };
  put(8, width);
  put(12, height);
  put(16, 0);
  put(20, 0);
  put(24, width);
  put(28, height);
  return codestream;
}

} // namespace

TEST_SUITE("dicom::transcode")
{
  TEST_CASE("choose_transfer_syntax prefers the stored syntax, then native, then lossless")
  {
    using dicom::choose_transfer_syntax;
    // Sent as stored whenever the peer takes it, compressed or not.
    CHECK(choose_transfer_syntax(k_explicit, {k_implicit, k_explicit}) == k_explicit);
    CHECK(choose_transfer_syntax(k_j2k_lossless, {k_explicit, k_j2k_lossless}) == k_j2k_lossless);
    CHECK(choose_transfer_syntax(k_mpeg2, {k_explicit, k_mpeg2}) == k_mpeg2);
    CHECK(choose_transfer_syntax("1.2.3.4", {"1.2.3.4"}) == "1.2.3.4");

    // Otherwise uncompressed, in our order rather than the peer's.
    CHECK(choose_transfer_syntax(k_j2k_lossless, {k_implicit, k_explicit}) == k_explicit);
    CHECK(choose_transfer_syntax(k_j2k, {k_big, k_implicit}) == k_implicit);
    CHECK(choose_transfer_syntax(k_jpeg_baseline, {k_big}) == k_big);
    CHECK(choose_transfer_syntax(k_implicit, {k_big, k_jpeg_ls}) == k_big);
    CHECK(choose_transfer_syntax(k_rle, {k_deflate, k_jpeg_ls}) == k_deflate);
    CHECK(choose_transfer_syntax(k_jpeg_ls, {k_rle, k_explicit}) == k_explicit);

    // Only when nothing uncompressed is accepted: a lossless encoding.
    CHECK(choose_transfer_syntax(k_explicit, {k_rle, k_jpeg_ls}) == k_jpeg_ls);
    CHECK(choose_transfer_syntax(k_jpeg_ls, {k_rle, k_jpeg_sv1}) == k_jpeg_sv1);
    CHECK(choose_transfer_syntax(k_j2k, {k_jpeg_p14, k_rle}) == k_jpeg_p14);
    CHECK(choose_transfer_syntax(k_j2k_lossless, {k_rle}) == k_rle);

    // Never lossy, never what we cannot encode or decode.
    CHECK(choose_transfer_syntax(k_explicit, {k_jpeg_baseline, k_jpeg_extended}).empty());
    CHECK(choose_transfer_syntax(k_explicit, {k_jpeg_ls_near, k_j2k}).empty());
    CHECK(choose_transfer_syntax(k_explicit, {k_j2k_lossless}).empty()); // no J2K encoder
    CHECK(choose_transfer_syntax(k_mpeg2, {k_explicit, k_implicit}).empty());
    CHECK(choose_transfer_syntax("1.2.3.4", {k_explicit}).empty());
    CHECK(choose_transfer_syntax("", {k_explicit}).empty());
    CHECK(choose_transfer_syntax(k_explicit, {}).empty());

    // UIDs padded as on the wire (PS3.5 9.1) still match.
    CHECK(choose_transfer_syntax(k_explicit + '\0', {k_explicit}) == k_explicit);
    CHECK(choose_transfer_syntax(k_j2k, {k_implicit + '\0'}) == k_implicit);
  }

  TEST_CASE("can_decode knows the registered codecs")
  {
    for (const auto& ts :
         {k_explicit, k_implicit, k_big, k_deflate, k_jpeg_baseline, k_jpeg_extended, k_jpeg_sv1,
          k_jpeg_p14, k_jpeg_ls, k_jpeg_ls_near, k_rle, k_j2k_lossless, k_j2k}) {
      CAPTURE(ts);
      CHECK(dicom::can_decode(ts));
    }
    CHECK_FALSE(dicom::can_decode(k_mpeg2));
    CHECK_FALSE(dicom::can_decode(UID_JPEG2000Part2MulticomponentImageCompressionTransferSyntax));
    CHECK_FALSE(dicom::can_decode(UID_JPIPReferencedTransferSyntax));
    CHECK_FALSE(dicom::can_decode("1.2.840.10008.1.2.4.201")); // HTJ2K: unknown to DCMTK 3.6.7
    CHECK_FALSE(dicom::can_decode(""));
    CHECK(dicom::can_encode(k_jpeg_ls));
    CHECK(dicom::can_encode(k_rle));
    CHECK_FALSE(dicom::can_encode(k_j2k_lossless));

    SUBCASE("without registered codecs only native syntaxes remain")
    {
      dicom::unregister_codecs();
      CHECK(dicom::can_decode(k_big));
      CHECK_FALSE(dicom::can_decode(k_j2k_lossless));
      CHECK_FALSE(dicom::can_decode(k_jpeg_ls));
      CHECK(dicom::choose_transfer_syntax(k_explicit, {k_jpeg_ls}).empty());
      dicom::register_codecs();
      dicom::register_codecs(); // twice is harmless
      CHECK(dicom::can_decode(k_j2k_lossless));
      CHECK(dicom::can_encode(k_jpeg_ls));
    }
  }

  TEST_CASE("every lossless copy of MR_small decodes to the same pixels")
  {
    const auto dir = files();
    if (dir.empty()) {
      MESSAGE("python3-pydicom not installed; skipped");
      return;
    }
    const Bytes expected = reference(dir / "MR_small.dcm");
    REQUIRE(expected.size() == 64 * 64 * 2);
    for (const std::string name :
         {"MR_small_RLE.dcm", "MR_small_jp2klossless.dcm", "MR_small_jpeg_ls_lossless.dcm",
          "MR_small_bigendian.dcm", "MR_small_expb.dcm", "MR_small_implicit.dcm"}) {
      CAPTURE(name);
      DcmFileFormat original;
      REQUIRE(original.loadFile((dir / name).c_str()).good());
      const auto ff = load(dir / name, k_explicit);
      CHECK(pixel_bytes(*ff) == expected);
      CHECK(sop_uid(*ff) == sop_uid(original));
      CHECK(get(*ff->getMetaInfo(), DCM_TransferSyntaxUID) == k_explicit);
      CHECK(ff->getDataset()->canWriteXfer(EXS_LittleEndianExplicit));
      CHECK(get(*ff->getDataset(), DCM_PhotometricInterpretation) == "MONOCHROME2");
    }
  }

  TEST_CASE("RLE colour and multi-frame files decode like their uncompressed twins")
  {
    const auto dir = files();
    if (dir.empty()) {
      MESSAGE("python3-pydicom not installed; skipped");
      return;
    }
    // 15 frames of 32-bit dose.
    const Bytes dose = reference(dir / "rtdose.dcm");
    REQUIRE(dose.size() == 15 * 10 * 10 * 4);
    CHECK(reference(dir / "rtdose_rle.dcm") == dose);
    CHECK(reference(dir / "rtdose_rle_1frame.dcm") == reference(dir / "rtdose_1frame.dcm"));

    // RGB: RLE and JPEG Lossless copies of the same image, bands of known colour.
    const Bytes rgb = reference(dir / "SC_rgb_rle.dcm");
    REQUIRE(rgb.size() == 100 * 100 * 3);
    CHECK(reference(dir / "SC_rgb_jpeg_gdcm.dcm") == rgb);
    CHECK(sample8(rgb, 100, 3, 5, 50, 0) == 255);
    CHECK(sample8(rgb, 100, 3, 25, 50, 1) == 255);
    const Bytes two = reference(dir / "SC_rgb_rle_2frame.dcm");
    REQUIRE(two.size() == 2 * rgb.size());
    CHECK(Bytes(two.begin(), two.begin() + static_cast<std::ptrdiff_t>(rgb.size())) == rgb);
  }

  TEST_CASE("encoding to JPEG-LS, JPEG Lossless and RLE and back is lossless")
  {
    const auto dir = files();
    if (dir.empty()) {
      MESSAGE("python3-pydicom not installed; skipped");
      return;
    }
    testutil::TempDir tmp;
    // Signed 16-bit MR, 16-bit CT, 8-bit RGB, 32-bit multi-frame dose, and
    // compressed sources (compressed → compressed goes through native).
    for (const std::string name :
         {"MR_small.dcm", "CT_small.dcm", "SC_rgb_rle.dcm", "MR_small_jp2klossless.dcm",
          "MR_small_jpeg_ls_lossless.dcm", "MR_small_RLE.dcm", "rtdose.dcm"}) {
      const Bytes expected = reference(dir / name);
      for (const auto& ts : {k_jpeg_ls, k_jpeg_sv1, k_rle}) {
        const bool thirty_two_bits = name == "rtdose.dcm";
        if (thirty_two_bits && ts != k_rle) {
          continue; // JPEG and JPEG-LS stop at 16 bits
        }
        CAPTURE(name);
        CAPTURE(ts);
        DcmFileFormat original;
        REQUIRE(original.loadFile((dir / name).c_str()).good());
        auto encoded = load(dir / name, ts);
        CHECK(sop_uid(*encoded) == sop_uid(original));
        CHECK(get(*encoded->getMetaInfo(), DCM_TransferSyntaxUID) == ts);
        const auto file = save(*encoded, tmp.path(), "encoded.dcm", ts);

        DcmFileFormat reread;
        REQUIRE(reread.loadFile(file.c_str()).good());
        CHECK(reread.getDataset()->getOriginalXfer() == DcmXfer(ts.c_str()).getXfer());
        CHECK(get(*reread.getDataset(), DCM_LossyImageCompression) != "01");
        const auto decoded = load(file, k_explicit);
        CHECK(pixel_bytes(*decoded) == expected);
        CHECK(sop_uid(*decoded) == sop_uid(original));
      }
    }
  }

  TEST_CASE("a 32-bit image cannot become JPEG-LS, and the error names both syntaxes")
  {
    const auto dir = files();
    if (dir.empty()) {
      MESSAGE("python3-pydicom not installed; skipped");
      return;
    }
    const auto result = dicom::load_for_sending(dir / "rtdose.dcm", k_jpeg_ls);
    REQUIRE_FALSE(result);
    CHECK(result.error().code == dicom::Errc::cannot_transcode);
    CHECK(result.error().detail.find(k_implicit) != std::string::npos);
    CHECK(result.error().detail.find(k_jpeg_ls) != std::string::npos);
  }

  TEST_CASE("JPEG 2000 colour: YBR_RCT in a JP2 wrapper, and lossy RGB")
  {
    const auto dir = files();
    if (dir.empty()) {
      MESSAGE("python3-pydicom not installed; skipped");
      return;
    }
    SUBCASE("GDCM's JP2-wrapped YBR_RCT image becomes interleaved RGB")
    {
      const auto ff = load(dir / "GDCMJ2K_TextGBR.dcm", k_explicit);
      DcmDataset& ds = *ff->getDataset();
      const Bytes px = pixel_bytes(*ff);
      REQUIRE(px.size() == 400 * 400 * 3);
      CHECK(get(ds, DCM_PhotometricInterpretation) == "RGB");
      CHECK(get_u16(ds, DCM_PlanarConfiguration) == 0);
      // Grey background; the words "red", "green", "blue" in their colours.
      const struct
      {
        int row;
        int column;
        int rgb[3];
      } points[] = {{0, 0, {128, 128, 128}},
                    {77, 98, {255, 0, 0}},
                    {179, 243, {0, 255, 0}},
                    {278, 142, {0, 0, 255}}};
      for (const auto& p : points) {
        CAPTURE(p.row);
        CAPTURE(p.column);
        for (int s = 0; s < 3; ++s) {
          CHECK(sample8(px, 400, 3, p.row, p.column, s) == p.rgb[s]);
        }
      }
    }
    SUBCASE("lossy RGB keeps its colour bands and its lossy flag")
    {
      DcmFileFormat original;
      REQUIRE(original.loadFile((dir / "SC_rgb_gdcm_KY.dcm").c_str()).good());
      const auto ff = load(dir / "SC_rgb_gdcm_KY.dcm", k_explicit);
      const Bytes px = pixel_bytes(*ff);
      REQUIRE(px.size() == 100 * 100 * 3);
      CHECK(get(*ff->getDataset(), DCM_LossyImageCompression)
            == get(*original.getDataset(), DCM_LossyImageCompression));
      // Rows 0-9 red, 20-29 green, 40-49 blue, 60-69 black, 90-99 white.
      const struct
      {
        int row;
        int rgb[3];
      } bands[] = {{5, {255, 0, 0}},
                   {25, {0, 255, 0}},
                   {45, {0, 0, 255}},
                   {65, {0, 0, 0}},
                   {95, {255, 255, 255}}};
      for (const auto& band : bands) {
        for (int s = 0; s < 3; ++s) {
          CAPTURE(band.row);
          CAPTURE(s);
          CHECK(std::abs(sample8(px, 100, 3, band.row, 50, s) - band.rgb[s]) <= 8);
        }
      }
    }
  }

  TEST_CASE("lossy JPEG 2000 decodes to the size the dataset declares")
  {
    const auto dir = files();
    if (dir.empty()) {
      MESSAGE("python3-pydicom not installed; skipped");
      return;
    }
    for (const std::string name : {"693_J2KI.dcm", "JPEG2000.dcm"}) {
      CAPTURE(name);
      DcmFileFormat original;
      REQUIRE(original.loadFile((dir / name).c_str()).good());
      DcmDataset& in = *original.getDataset();
      const auto ff = load(dir / name, k_explicit);
      const std::size_t rows = get_u16(in, DCM_Rows);
      const std::size_t columns = get_u16(in, DCM_Columns);
      CHECK(pixel_bytes(*ff).size() == rows * columns * 2);
      CHECK(get(*ff->getDataset(), DCM_LossyImageCompression)
            == get(in, DCM_LossyImageCompression));
      CHECK(sop_uid(*ff) == sop_uid(original));
    }
  }

  TEST_CASE("lossy JPEG decodes without a new UID and stays marked lossy")
  {
    const auto dir = files();
    if (dir.empty()) {
      MESSAGE("python3-pydicom not installed; skipped");
      return;
    }
    for (const std::string name : {"JPGExtended.dcm", "SC_rgb_dcmtk_+eb+cy+np.dcm"}) {
      CAPTURE(name);
      DcmFileFormat original;
      REQUIRE(original.loadFile((dir / name).c_str()).good());
      const auto ff = load(dir / name, k_explicit);
      DcmDataset& ds = *ff->getDataset();
      CHECK(sop_uid(*ff) == sop_uid(original));
      CHECK(get(ds, DCM_LossyImageCompression) == "01");
      const std::size_t samples = get_u16(ds, DCM_SamplesPerPixel);
      CHECK(pixel_bytes(*ff).size()
            == std::size_t{get_u16(ds, DCM_Rows)} * get_u16(ds, DCM_Columns) * samples
                   * (get_u16(ds, DCM_BitsAllocated) / 8));
      if (samples == 3) {
        CHECK(get(ds, DCM_PhotometricInterpretation) == "RGB"); // was YBR_FULL_422
      }
    }
  }

  TEST_CASE("a JPEG 2000 fragment cut short in a real file fails cleanly")
  {
    const auto dir = files();
    if (dir.empty()) {
      MESSAGE("python3-pydicom not installed; skipped");
      return;
    }
    // pydicom's file for a parser bug: 250 bytes of a larger codestream.
    const auto result =
        dicom::load_for_sending(dir / "JPEG2000-embedded-sequence-delimiter.dcm", k_explicit);
    REQUIRE_FALSE(result);
    CHECK(result.error().code == dicom::Errc::cannot_transcode);
  }

  TEST_CASE("JPEG 2000 decoding in parallel threads gives the same pixels")
  {
    const auto dir = files();
    if (dir.empty()) {
      MESSAGE("python3-pydicom not installed; skipped");
      return;
    }
    const Bytes expected = reference(dir / "MR_small.dcm");
    std::atomic<int> good{0};
    std::atomic<int> bad{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&] {
        for (int i = 0; i < 10; ++i) {
          for (const char* name : {"MR_small_jp2klossless.dcm", "MR_small_jpeg_ls_lossless.dcm"}) {
            auto ff = dicom::load_for_sending(dir / name, k_explicit);
            DcmElement* element = nullptr;
            Uint8* data = nullptr;
            const bool ok = ff
                            && (*ff)->getDataset()->findAndGetElement(DCM_PixelData, element).good()
                            && element->getUint8Array(data).good()
                            && Bytes(data, data + element->getLength()) == expected;
            ++(ok ? good : bad);
          }
        }
      });
    }
    for (auto& t : threads) {
      t.join();
    }
    CHECK(good == 80);
    CHECK(bad == 0);
  }

  TEST_CASE("signed data the codestream calls unsigned is sign-extended from BitsStored")
  {
    const auto dir = files();
    if (dir.empty()) {
      MESSAGE("python3-pydicom not installed; skipped");
      return;
    }
    // PixelRepresentation 1, BitsStored 13, codestream unsigned 13-bit; the
    // values are those pydicom's tests expect (its issue 1149).
    const Bytes px = reference(dir / "J2K_pixelrep_mismatch.dcm");
    REQUIRE(px.size() == 512 * 512 * 2);
    CHECK(sample16s(px, 512, 0, 0) == -2000);
    const int column_279[] = {621, 412, 138, -193, -520, -767, -907, -966, -988, -995};
    for (int i = 0; i < 10; ++i) {
      CHECK(sample16s(px, 512, 47 + i, 279) == column_279[i]);
    }
    const int column_106[] = {-377, -121, 141, 383, 633, 910, 1198, 1455, 1638, 1732};
    for (int i = 0; i < 10; ++i) {
      CHECK(sample16s(px, 512, 328 + i, 106) == column_106[i]);
    }
  }

  TEST_CASE("a JP2 file made by OpenJPEG and put in Pixel Data decodes like the original")
  {
    const auto dir = files();
    if (dir.empty()) {
      MESSAGE("python3-pydicom not installed; skipped");
      return;
    }
    testutil::TempDir tmp;
    const Bytes expected = reference(dir / "MR_small.dcm");
    const Bytes jp2 = encode_jpeg2000(as_int16(expected), 64, 64, OPJ_CODEC_JP2);
    REQUIRE(jp2.size() > 12);
    CHECK(jp2[4] == 'j'); // the signature box, not a bare codestream
    CHECK(jp2[5] == 'P');

    DcmFileFormat ff;
    REQUIRE(ff.loadFile((dir / "MR_small.dcm").c_str()).good());
    put_encapsulated(*ff.getDataset(), EXS_JPEG2000LosslessOnly, {jp2});
    const auto file = save(ff, tmp.path(), "jp2.dcm", k_j2k_lossless);
    const auto decoded = load(file, k_explicit);
    CHECK(pixel_bytes(*decoded) == expected);
  }

  TEST_CASE("multi-frame JPEG 2000: one or several fragments per frame")
  {
    const auto dir = files();
    if (dir.empty()) {
      MESSAGE("python3-pydicom not installed; skipped");
      return;
    }
    testutil::TempDir tmp;
    const Bytes first = reference(dir / "MR_small.dcm");
    auto samples = as_int16(first);
    for (auto& s : samples) {
      s = static_cast<std::int16_t>(-s / 2 - 7); // a different second frame
    }
    const Bytes second = as_bytes(samples);
    Bytes expected = first;
    expected.insert(expected.end(), second.begin(), second.end());
    const Bytes a = encode_jpeg2000(as_int16(first), 64, 64, OPJ_CODEC_J2K);
    const Bytes b = encode_jpeg2000(samples, 64, 64, OPJ_CODEC_J2K);
    REQUIRE(a.size() > 100);
    REQUIRE(b.size() > 100);
    // Cut each codestream in two at an even offset.
    const auto split = [](const Bytes& cs) {
      const auto half = static_cast<std::ptrdiff_t>(cs.size() / 4 * 2);
      return std::vector<Bytes>{Bytes(cs.begin(), cs.begin() + half),
                                Bytes(cs.begin() + half, cs.end())};
    };
    const auto a2 = split(a);
    const auto b2 = split(b);
    const std::vector<Bytes> two_per_frame{a2[0], a2[1], b2[0], b2[1]};

    struct Case
    {
      std::string what;
      std::vector<Bytes> fragments;
      std::vector<std::size_t> frame_starts; // empty: no offset table
    };
    const Case cases[] = {
        {"one fragment per frame", {a, b}, {}},
        {"two fragments per frame, offset table", two_per_frame, {0, 2}},
        {"two fragments per frame, no offset table", two_per_frame, {}},
    };
    for (const auto& c : cases) {
      CAPTURE(c.what);
      DcmFileFormat ff;
      REQUIRE(ff.loadFile((dir / "MR_small.dcm").c_str()).good());
      DcmDataset& ds = *ff.getDataset();
      REQUIRE(ds.putAndInsertString(DCM_NumberOfFrames, "2").good());
      put_encapsulated(ds, EXS_JPEG2000LosslessOnly, c.fragments, c.frame_starts);
      const auto file = save(ff, tmp.path(), "multi.dcm", k_j2k_lossless);
      const auto decoded = load(file, k_explicit);
      CHECK(pixel_bytes(*decoded) == expected);

      // Frame by frame, as DicomImage reads it (DcmCodec::decodeFrame).
      DcmFileFormat again;
      REQUIRE(again.loadFile(file.c_str()).good());
      DcmElement* element = nullptr;
      REQUIRE(again.getDataset()->findAndGetElement(DCM_PixelData, element).good());
      auto* px = static_cast<DcmPixelData*>(element);
      Bytes frame(first.size());
      Uint32 start = 0;
      OFString model;
      REQUIRE(px->getUncompressedFrame(again.getDataset(), 1, start, frame.data(),
                                       static_cast<Uint32>(frame.size()), model)
                  .good());
      CHECK(frame == second);
      CHECK(model == "MONOCHROME2");
    }
  }

  TEST_CASE("a corrupt JPEG 2000 codestream is an error, not a crash")
  {
    const auto dir = files();
    if (dir.empty()) {
      MESSAGE("python3-pydicom not installed; skipped");
      return;
    }
    testutil::TempDir tmp;
    const Bytes good = first_fragment(dir / "MR_small_jp2klossless.dcm");
    REQUIRE(good.size() > 200);

    Bytes truncated(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(good.size() / 2));
    Bytes bad_header = good;
    // SIZ: absurd image size and component count.
    std::fill(bad_header.begin() + 6, bad_header.begin() + 40, std::uint8_t{0xFF});
    Bytes not_j2k = good;
    not_j2k[0] = 0x00;
    const Bytes empty_ish(2, 0);

    for (const auto& [what, fragment] : {std::pair{std::string("truncated"), truncated},
                                         std::pair{std::string("bad SIZ"), bad_header},
                                         std::pair{std::string("no SOC marker"), not_j2k},
                                         std::pair{std::string("two zero bytes"), empty_ish}}) {
      CAPTURE(what);
      DcmFileFormat ff;
      REQUIRE(ff.loadFile((dir / "MR_small_jp2klossless.dcm").c_str()).good());
      put_encapsulated(*ff.getDataset(), EXS_JPEG2000LosslessOnly, {fragment});
      const auto file = save(ff, tmp.path(), "corrupt.dcm", k_j2k_lossless);
      const auto result = dicom::load_for_sending(file, k_explicit);
      REQUIRE_FALSE(result);
      CHECK(result.error().code == dicom::Errc::cannot_transcode);
      CHECK(result.error().detail.find(k_j2k_lossless) != std::string::npos);
      CHECK(result.error().detail.find(k_explicit) != std::string::npos);
      CHECK(result.error().detail.find("JPEG 2000") != std::string::npos);
    }

    SUBCASE("garbage inside the entropy-coded data may decode wrongly but must not crash")
    {
      Bytes noisy = good;
      for (std::size_t i = noisy.size() / 2; i < noisy.size() - 2; i += 7) {
        noisy[i] ^= 0x5A;
      }
      DcmFileFormat ff;
      REQUIRE(ff.loadFile((dir / "MR_small_jp2klossless.dcm").c_str()).good());
      put_encapsulated(*ff.getDataset(), EXS_JPEG2000LosslessOnly, {noisy});
      const auto file = save(ff, tmp.path(), "noisy.dcm", k_j2k_lossless);
      const auto result = dicom::load_for_sending(file, k_explicit);
      if (result) {
        CHECK(pixel_bytes(**result).size() == 64 * 64 * 2);
      } else {
        CHECK(result.error().code == dicom::Errc::cannot_transcode);
      }
    }

    SUBCASE("a codestream for another image size is refused")
    {
      DcmFileFormat ff;
      REQUIRE(ff.loadFile((dir / "MR_small_jp2klossless.dcm").c_str()).good());
      REQUIRE(ff.getDataset()->putAndInsertUint16(DCM_Rows, 32).good());
      const auto file = save(ff, tmp.path(), "wrong_size.dcm", k_j2k_lossless);
      const auto result = dicom::load_for_sending(file, k_explicit);
      REQUIRE_FALSE(result);
      CHECK(result.error().detail.find("64x64") != std::string::npos);
    }
  }

  TEST_CASE("a codestream declaring a larger image than the dataset is refused before decoding")
  {
    const auto dir = files();
    if (dir.empty()) {
      MESSAGE("python3-pydicom not installed; skipped");
      return;
    }
    testutil::TempDir tmp;
    const Bytes good = first_fragment(dir / "MR_small_jp2klossless.dcm");
    REQUIRE(good.size() > 200);
    REQUIRE(good[0] == 0xFF);
    REQUIRE(good[3] == 0x51);
    // 2000x2000 still decodes in a test: without the header check the
    // error would come from after the decode, in other words.
    for (const std::uint32_t side : {2000U, 60000U}) {
      CAPTURE(side);
      DcmFileFormat ff;
      REQUIRE(ff.loadFile((dir / "MR_small_jp2klossless.dcm").c_str()).good());
      put_encapsulated(*ff.getDataset(), EXS_JPEG2000LosslessOnly, {with_siz(good, side, side)});
      const auto file = save(ff, tmp.path(), "declares_more.dcm", k_j2k_lossless);
      const auto result = dicom::load_for_sending(file, k_explicit);
      REQUIRE_FALSE(result);
      CHECK(result.error().code == dicom::Errc::cannot_transcode);
      const std::string dims = std::to_string(side) + "x" + std::to_string(side) + "x1";
      CHECK(result.error().detail.find("the codestream declares " + dims) != std::string::npos);
      CHECK(result.error().detail.find("the dataset says 64x64x1") != std::string::npos);
    }
  }

  TEST_CASE("refuse_size: dimensions, precision and the sample cap")
  {
    using dicom::openjpeg::refuse_size;
    const dicom::openjpeg::Expected mr{64, 64, 1, 16};
    CHECK_FALSE(refuse_size(64, 64, 1, 16, mr));
    CHECK(refuse_size(64, 65, 1, 16, mr));
    CHECK(refuse_size(64, 64, 3, 16, mr));
    CHECK(refuse_size(64, 64, 1, 17, mr)->find("BitsAllocated 16") != std::string::npos);
    const dicom::openjpeg::Expected any{};
    CHECK_FALSE(refuse_size(16384, 16384, 1, 8, any)); // exactly 2^28 samples
    CHECK(refuse_size(16384, 16384, 2, 8, any));
    CHECK(refuse_size(0xFFFFFFFF, 0xFFFFFFFF, 0xFFFF, 8, any)); // no wrap to a small product
    CHECK(refuse_size(0, 64, 1, 8, any));
  }

  TEST_CASE("a frame count that would wrap the decoded size is refused")
  {
    const auto dir = files();
    if (dir.empty()) {
      MESSAGE("python3-pydicom not installed; skipped");
      return;
    }
    // 32768 x 32768 x 32768 samples of 4 bytes is 2^47 bytes a frame;
    // 2^17 frames make 2^64, which wraps to 0 in 64 bits.
    testutil::TempDir tmp;
    DcmFileFormat ff;
    REQUIRE(ff.loadFile((dir / "MR_small_jp2klossless.dcm").c_str()).good());
    DcmDataset& ds = *ff.getDataset();
    REQUIRE(ds.putAndInsertUint16(DCM_Rows, 32768).good());
    REQUIRE(ds.putAndInsertUint16(DCM_Columns, 32768).good());
    REQUIRE(ds.putAndInsertUint16(DCM_SamplesPerPixel, 32768).good());
    REQUIRE(ds.putAndInsertUint16(DCM_BitsAllocated, 32).good());
    REQUIRE(ds.putAndInsertUint16(DCM_BitsStored, 32).good());
    REQUIRE(ds.putAndInsertUint16(DCM_HighBit, 31).good());
    REQUIRE(ds.putAndInsertString(DCM_NumberOfFrames, "131072").good());
    const auto file = save(ff, tmp.path(), "wrap.dcm", k_j2k_lossless);
    const auto result = dicom::load_for_sending(file, k_explicit);
    REQUIRE_FALSE(result);
    CHECK(result.error().detail.find("would exceed 4 GiB") != std::string::npos);
  }

  TEST_CASE("no exception leaves the OpenJPEG callbacks or the DCMTK codec entry points")
  {
    // std::string(nullptr) throws std::logic_error: the error callback must
    // swallow it rather than unwind through OpenJPEG's C frames.
    dicom::openjpeg::Errors errors;
    CHECK_NOTHROW(dicom::openjpeg::on_error(nullptr, &errors));
    dicom::openjpeg::on_error("first\n", &errors);
    CHECK(errors.text == "first");

    using dicom::detail::guarded_codec_call;
    CHECK(guarded_codec_call([]() -> OFCondition { throw std::bad_alloc(); })
          == EC_MemoryExhausted);
    const OFCondition other =
        guarded_codec_call([]() -> OFCondition { throw std::runtime_error("boom"); });
    CHECK(other.bad());
    CHECK(std::string(other.text()).find("boom") != std::string::npos);
    CHECK(guarded_codec_call([] { return EC_Normal; }).good());
  }

  TEST_CASE("load_for_sending reports unusable input")
  {
    testutil::TempDir tmp;
    const auto file =
        testutil::write_instance(tmp.path() / "a.dcm", testutil::Uids{"1.2", "1.2.3", "1.2.3.4"});

    SUBCASE("same syntax: loaded as is")
    {
      const auto ff = load(file, k_explicit);
      CHECK(sop_uid(*ff) == "1.2.3.4");
    }
    SUBCASE("native to native")
    {
      const auto ff = load(file, k_big);
      CHECK(get(*ff->getMetaInfo(), DCM_TransferSyntaxUID) == k_big);
      CHECK(ff->getDataset()->canWriteXfer(EXS_BigEndianExplicit));
    }
    SUBCASE("unknown target syntax")
    {
      const auto result = dicom::load_for_sending(file, "1.2.3.4.5");
      REQUIRE_FALSE(result);
      CHECK(result.error().code == dicom::Errc::cannot_transcode);
    }
    SUBCASE("no encoder for the target")
    {
      const auto result = dicom::load_for_sending(file, k_j2k_lossless);
      REQUIRE_FALSE(result);
      CHECK(result.error().code == dicom::Errc::cannot_transcode);
      CHECK(result.error().detail.find("no encoder") != std::string::npos);
    }
    SUBCASE("missing file")
    {
      const auto result = dicom::load_for_sending(tmp.path() / "nope.dcm", k_explicit);
      REQUIRE_FALSE(result);
      CHECK(result.error().code == std::errc::no_such_file_or_directory);
    }
    SUBCASE("not DICOM")
    {
      const auto junk = tmp.path() / "junk.dcm";
      {
        std::FILE* f = std::fopen(junk.c_str(), "wb");
        REQUIRE(f != nullptr);
        std::fputs("hello, this is not DICOM at all", f);
        std::fclose(f);
      }
      const auto result = dicom::load_for_sending(junk, k_explicit);
      REQUIRE_FALSE(result);
      CHECK(result.error().code == dicom::Errc::not_dicom);
    }
  }
}
