// SPDX-License-Identifier: GPL-3.0-or-later
#include "testutil/dicom_factory.hpp"
#include "testutil/hinacom.hpp"
#include "testutil/temp_dir.hpp"

#include <core/strings.hpp>
#include <dicom/charset.hpp>
#include <dicom/errors.hpp>
#include <dicom/reassemble.hpp>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcdicent.h>
#include <dcmtk/dcmdata/dcdict.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcmetinf.h>
#include <dcmtk/dcmdata/dcpixel.h>
#include <dcmtk/dcmdata/dcpixseq.h>
#include <dcmtk/dcmdata/dcpxitem.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <doctest/doctest.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

enum class Pixels { native, jp2, j2k, lossy };

const char*
name_of(Pixels p)
{
  switch (p) {
  case Pixels::native:
    return "native";
  case Pixels::jp2:
    return "JP2 file";
  case Pixels::j2k:
    return "bare codestream";
  case Pixels::lossy:
    return "irreversible 9/7";
  }
  return "?";
}

fs::path
pydicom_file(const std::string& name)
{
  const auto data = testutil::pydicom_data();
  if (data.empty()) {
    return {};
  }
  for (const char* folder : {"test_files", "charset_files"}) {
    if (fs::exists(data / folder / name)) {
      return data / folder / name;
    }
  }
  return {};
}

std::string
body_for(const fs::path& file, Pixels mode)
{
  switch (mode) {
  case Pixels::native:
    return testutil::native_pixels(file);
  case Pixels::jp2:
    return testutil::encode_jpeg2000(file, {true, true});
  case Pixels::j2k:
    return testutil::encode_jpeg2000(file, {false, true});
  case Pixels::lossy:
    return testutil::encode_jpeg2000(file, {false, false});
  }
  return {};
}

std::unique_ptr<DcmFileFormat>
load(const fs::path& file)
{
  auto ff = std::make_unique<DcmFileFormat>();
  REQUIRE_MESSAGE(ff->loadFile(file.c_str()).good(), file.string());
  return ff;
}

std::string
get(DcmItem& item, const DcmTagKey& key)
{
  OFString value;
  item.findAndGetOFStringArray(key, value);
  return value.c_str();
}

// Values as DCMTK prints them, each trimmed: the form both files must share.
std::vector<std::string>
values_of(DcmElement& e)
{
  std::vector<std::string> out;
  for (unsigned long i = 0; i < e.getVM(); ++i) {
    OFString one;
    e.getOFString(one, i);
    out.emplace_back(core::trim(std::string_view(one.c_str(), one.size())));
  }
  return out;
}

DcmEVR
dictionary_vr(const DcmTagKey& key)
{
  const DcmDataDictionary& dict = dcmDataDict.rdlock();
  const DcmDictEntry* entry = dict.findEntry(key, nullptr);
  const DcmEVR vr = entry ? entry->getEVR() : EVR_UNKNOWN;
  dcmDataDict.rdunlock();
  return vr;
}

bool
listed(const dicom::Reassembled& r, const DcmTagKey& key)
{
  char prefix[16];
  std::snprintf(prefix, sizeof prefix, "(%04x,%04x)", key.getGroup(), key.getElement());
  return std::any_of(r.skipped.begin(), r.skipped.end(),
                     [&](const std::string& s) { return s.rfind(prefix, 0) == 0; });
}

// Attributes the pixel encoding may legitimately change.
bool
pixel_dependent(const DcmTagKey& key)
{
  return key == DCM_PhotometricInterpretation || key == DCM_PlanarConfiguration
         || key == DCM_LossyImageCompression || key == DCM_LossyImageCompressionMethod
         || key == DCM_LossyImageCompressionRatio;
}

// Every top-level attribute of `original` is in `rebuilt` with the same
// value (text as UTF-8) and the dictionary's VR, or is listed as skipped.
void
check_attributes(const fs::path& original, const fs::path& rebuilt, const dicom::Reassembled& r)
{
  auto a = load(original);
  auto b = load(rebuilt);
  DcmDataset& da = *a->getDataset();
  DcmDataset& db = *b->getDataset();
  dicom::decode_to_utf8(da, "GB18030");
  Uint16 pixel_representation = 0;
  da.findAndGetUint16(DCM_PixelRepresentation, pixel_representation);
  std::map<std::pair<int, int>, std::string> rendered;
  for (const auto& t : testutil::render_tags(original)) {
    rendered[{t.group, t.element}] = t.value;
  }

  for (unsigned long i = 0; i < da.card(); ++i) {
    DcmElement* ea = da.getElement(i);
    const DcmTagKey key = ea->getTag();
    if (key == DCM_PixelData || key == DCM_SpecificCharacterSet || pixel_dependent(key)
        || key.getElement() == 0x0000) {
      continue;
    }
    CAPTURE(key.toString());
    if (ea->ident() == EVR_SQ) {
      CHECK(db.tagExists(key) == false);
      continue;
    }
    DcmElement* eb = nullptr;
    if (key.isPrivate()) {
      REQUIRE(db.findAndGetElement(key, eb).good());
      CHECK((eb->ident() == EVR_LO || eb->ident() == EVR_UT));
      OFString value;
      eb->getOFStringArray(value); // without the even-length padding
      CHECK(std::string(value.c_str()) == rendered[{key.getGroup(), key.getElement()}]);
      continue;
    }
    DcmEVR vr = dictionary_vr(key);
    if (vr == EVR_xs) {
      vr = pixel_representation == 1 ? EVR_SS : EVR_US;
    }
    const DcmVR dvr(vr);
    if (vr == EVR_AT || vr == EVR_SQ || vr == EVR_UN || vr == EVR_ox || vr == EVR_lt || vr == EVR_OB
        || vr == EVR_OW || vr == EVR_OF || vr == EVR_OD || vr == EVR_OL || vr == EVR_OV) {
      CHECK(listed(r, key));
      CHECK_FALSE(db.tagExists(key));
      continue;
    }
    REQUIRE(db.findAndGetElement(key, eb).good());
    CHECK(DcmVR(eb->ident()).getVRName() == std::string(dvr.getVRName()));
    CHECK(values_of(*eb) == values_of(*ea));
  }
  CHECK(get(db, DCM_SpecificCharacterSet) == "ISO_IR 192");
  DcmMetaInfo& mb = *b->getMetaInfo();
  CHECK(get(mb, DCM_MediaStorageSOPInstanceUID) == get(da, DCM_SOPInstanceUID));
  CHECK(get(mb, DCM_MediaStorageSOPClassUID) == get(da, DCM_SOPClassUID));
  CHECK(get(mb, DCM_TransferSyntaxUID) == r.transfer_syntax_uid);
  for (const auto& key : {DCM_SOPInstanceUID, DCM_StudyInstanceUID, DCM_SeriesInstanceUID}) {
    CHECK(get(db, key) == get(da, key));
  }
}

void
round_trip(const std::string& name, Pixels mode)
{
  const auto original = pydicom_file(name);
  if (original.empty()) {
    MESSAGE("python3-pydicom test files not installed; skipped");
    return;
  }
  CAPTURE(name);
  const std::string form = name_of(mode);
  CAPTURE(form);
  testutil::TempDir dir;
  const auto out = dir.path() / "out.dcm";
  const auto tags = testutil::render_tags(original);
  const auto body = body_for(original, mode);

  const auto r = dicom::reassemble(tags, body, out);
  REQUIRE_MESSAGE(r, r.error().message());

  switch (mode) {
  case Pixels::native:
    CHECK(r->transfer_syntax_uid == UID_LittleEndianExplicitTransferSyntax);
    break;
  case Pixels::jp2:
  case Pixels::j2k:
    CHECK(r->transfer_syntax_uid == UID_JPEG2000LosslessOnlyTransferSyntax);
    break;
  case Pixels::lossy:
    CHECK(r->transfer_syntax_uid == UID_JPEG2000TransferSyntax);
    break;
  }
  CHECK(r->lossy == (mode == Pixels::lossy));
  check_attributes(original, out, *r);

  auto rebuilt = load(out);
  DcmDataset& ds = *rebuilt->getDataset();
  Uint16 samples = 1;
  ds.findAndGetUint16(DCM_SamplesPerPixel, samples);
  if (mode == Pixels::native) {
    Uint16 allocated = 0;
    ds.findAndGetUint16(DCM_BitsAllocated, allocated);
    DcmElement* pixel = nullptr;
    REQUIRE(ds.findAndGetElement(DCM_PixelData, pixel).good());
    CHECK(pixel->getVR() == (allocated > 8 ? EVR_OW : EVR_OB));
  } else if (samples == 3) {
    // Encoded with the colour transform (PS3.5 8.2.4).
    CHECK(get(ds, DCM_PhotometricInterpretation)
          == (mode == Pixels::lossy ? "YBR_ICT" : "YBR_RCT"));
  }
  if (mode != Pixels::native) {
    // Only the codestream is encapsulated (PS3.5 A.4.4), not the JP2 boxes,
    // after an empty Basic Offset Table.
    DcmElement* element = nullptr;
    REQUIRE(ds.findAndGetElement(DCM_PixelData, element).good());
    DcmPixelSequence* seq = nullptr;
    REQUIRE(static_cast<DcmPixelData*>(element)
                ->getEncapsulatedRepresentation(ds.getOriginalXfer(), nullptr, seq)
                .good());
    REQUIRE(seq != nullptr);
    REQUIRE(seq->card() == 2);
    DcmPixelItem* item = nullptr;
    REQUIRE(seq->getItem(item, 0).good());
    CHECK(item->getLength() == 0);
    REQUIRE(seq->getItem(item, 1).good());
    Uint8* data = nullptr;
    REQUIRE(item->getUint8Array(data).good());
    CHECK(item->getLength() % 2 == 0);
    CHECK(std::string(reinterpret_cast<const char*>(data), 4) == "\xFF\x4F\xFF\x51");
    CHECK(item->getLength()
          == dicom::jpeg2000_codestream(body).size() + dicom::jpeg2000_codestream(body).size() % 2);
  }

  const auto expected = testutil::native_pixels(original);
  const auto decoded = testutil::native_pixels(out);
  if (mode == Pixels::lossy) {
    CHECK(decoded.size() == expected.size());
    CHECK(get(ds, DCM_LossyImageCompression) == "01");
    CHECK(get(ds, DCM_LossyImageCompressionMethod) == "ISO_15444_1");
  } else {
    CHECK(decoded == expected);
    CHECK(get(ds, DCM_LossyImageCompression)
          == get(*load(original)->getDataset(), DCM_LossyImageCompression));
  }
}

std::vector<dicom::TextTag>
minimal_tags()
{
  return {
      {0x0008, 0x0016, UID_SecondaryCaptureImageStorage},
      {0x0008, 0x0018, "1.2.3.4.5.6"},
      {0x0020, 0x000D, "1.2.3"},
      {0x0020, 0x000E, "1.2.3.4"},
      {0x0028, 0x0002, "1"},
      {0x0028, 0x0004, "MONOCHROME2"},
      {0x0028, 0x0010, "2"},
      {0x0028, 0x0011, "3"},
      {0x0028, 0x0100, "16"},
      {0x0028, 0x0101, "12"},
      {0x0028, 0x0102, "11"},
      {0x0028, 0x0103, "0"},
  };
}

void
set(std::vector<dicom::TextTag>& tags, std::uint16_t g, std::uint16_t e, const std::string& value)
{
  for (auto& t : tags) {
    if (t.group == g && t.element == e) {
      t.value = value;
      return;
    }
  }
  tags.push_back({g, e, value});
}

std::string
be32(std::uint32_t v)
{
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

const std::string k_signature("\x00\x00\x00\x0CjP  \r\n\x87\n", 12);
const std::string k_codestream("\xFF\x4F\xFF\x51rest", 8);

// `codestream` with the SIZ image and tile size (ISO/IEC 15444-1 A.5.1:
// Xsiz at byte 8, Ysiz 12, XTsiz 24, YTsiz 28, after SOC and the SIZ marker
// and length) set to `width` x `height`, one tile: a small codestream that
// declares a large image.
std::string
with_siz(std::string codestream, std::uint32_t width, std::uint32_t height)
{
  REQUIRE(codestream.size() > 40);
  REQUIRE(codestream.compare(0, 4, "\xFF\x4F\xFF\x51") == 0);
  const auto put = [&](std::size_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) {
      codestream[at + i] = static_cast<char>(v >> (24 - 8 * i));
    }
  };
  put(8, width);
  put(12, height);
  put(16, 0); // XOsiz, YOsiz
  put(20, 0);
  put(24, width);
  put(28, height);
  return codestream;
}

} // namespace

TEST_SUITE("dicom::reassemble")
{
  TEST_CASE("a 16-bit signed CT with private tags survives all four pixel forms")
  {
    for (auto mode : {Pixels::native, Pixels::jp2, Pixels::j2k, Pixels::lossy}) {
      round_trip("CT_small.dcm", mode);
    }
  }

  TEST_CASE("an MR image survives all four pixel forms")
  {
    for (auto mode : {Pixels::native, Pixels::jp2, Pixels::j2k, Pixels::lossy}) {
      round_trip("MR_small.dcm", mode);
    }
  }

  TEST_CASE("an odd-sized RGB image gets YBR_RCT/YBR_ICT for colour-transformed JPEG 2000")
  {
    for (auto mode : {Pixels::native, Pixels::jp2, Pixels::j2k, Pixels::lossy}) {
      round_trip("SC_rgb_small_odd.dcm", mode);
    }
  }

  TEST_CASE("a GB18030 Chinese name comes back as UTF-8 under ISO_IR 192")
  {
    for (auto mode : {Pixels::native, Pixels::j2k}) {
      round_trip("chrX2.dcm", mode);
    }
    const auto original = pydicom_file("chrX2.dcm");
    if (original.empty()) {
      return;
    }
    testutil::TempDir dir;
    const auto out = dir.path() / "x2.dcm";
    REQUIRE(
        dicom::reassemble(testutil::render_tags(original), testutil::native_pixels(original), out));
    auto ff = load(out);
    CHECK(get(*ff->getDataset(), DCM_PatientName) == "Wang^XiaoDong=王^小东=");
    // The platform's meta elements that the writer does not own are kept.
    CHECK(get(*ff->getMetaInfo(), DCM_SourceApplicationEntityTitle) == "CLUNIE1");
  }

  TEST_CASE("private values: creators and short values LO, a long one UT verbatim")
  {
    testutil::TempDir dir;
    auto tags = minimal_tags();
    const std::string long_value =
        "a private value of seventy characters that LO cannot hold, kept whole.";
    REQUIRE(long_value.size() == 70);
    const std::string split_long = "first part\\ " + long_value; // one part too long for LO
    tags.push_back({0x0029, 0x0010, "ACME 1.0"});
    tags.push_back({0x0029, 0x1001, "short\\two"});
    tags.push_back({0x0029, 0x1002, long_value});
    tags.push_back({0x0029, 0x1003, std::string(64, 'x')});
    tags.push_back({0x0029, 0x1004, split_long});
    tags.push_back({0x0029, 0x0003, "reserved"});
    const auto out = dir.path() / "p.dcm";
    const auto r = dicom::reassemble(tags, std::string(2 * 3 * 2, '\0'), out);
    REQUIRE_MESSAGE(r, r.error().message());
    auto ff = load(out);
    DcmDataset& ds = *ff->getDataset();
    DcmElement* e = nullptr;
    REQUIRE(ds.findAndGetElement(DcmTagKey(0x0029, 0x0010), e).good());
    CHECK(e->getVR() == EVR_LO);
    REQUIRE(ds.findAndGetElement(DcmTagKey(0x0029, 0x1001), e).good());
    CHECK(e->getVR() == EVR_LO);
    CHECK(e->getVM() == 2);
    REQUIRE(ds.findAndGetElement(DcmTagKey(0x0029, 0x1002), e).good());
    CHECK(e->getVR() == EVR_UT);
    OFString value;
    e->getOFStringArray(value);
    CHECK(std::string(value.c_str()) == long_value);
    REQUIRE(ds.findAndGetElement(DcmTagKey(0x0029, 0x1003), e).good());
    CHECK(e->getVR() == EVR_LO); // exactly 64 characters still fit
    REQUIRE(ds.findAndGetElement(DcmTagKey(0x0029, 0x1004), e).good());
    CHECK(e->getVR() == EVR_UT);
    CHECK(e->getVM() == 1); // UT is never split on '\\' (PS3.5 6.2)
    e->getOFStringArray(value, OFFalse);
    CHECK(std::string(value.c_str()) == split_long);
    CHECK(listed(*r, DcmTagKey(0x0029, 0x0003)));
  }

  TEST_CASE("ambiguous, binary, sequence and unparsable values")
  {
    testutil::TempDir dir;
    const auto out = dir.path() / "a.dcm";
    const std::string pixels(2 * 3 * 2, '\0');
    auto tags = minimal_tags();
    tags.push_back({0x0028, 0x0106, "7"});                            // US or SS
    tags.push_back({0x0028, 0x1201, "00\\01"});                       // OW palette data
    tags.push_back({0x0008, 0x1115, ""});                             // SQ
    tags.push_back({0x0020, 0x5000, "(0010,0010)"});                  // AT
    tags.push_back({0x0018, 0x9219, "twelve"});                       // SS that does not parse
    tags.push_back({0x0018, 0x1150, "70000"});                        // IS: text, kept
    tags.push_back({0x0028, 0x0030, "0.5\\0.5"});                     // DS, two values
    tags.push_back({0x0018, 0x9087, "1.5e3"});                        // FD
    tags.push_back({0x6000, 0x0010, "2"});                            // repeating group, US
    tags.push_back({0x0008, 0x0005, "GB18030"});                      // replaced, not kept
    tags.push_back({0x0002, 0x0010, UID_JPEGProcess1TransferSyntax}); // overwritten

    SUBCASE("PixelRepresentation 0 makes US or SS unsigned")
    {
      const auto r = dicom::reassemble(tags, pixels, out);
      REQUIRE_MESSAGE(r, r.error().message());
      auto ff = load(out);
      DcmDataset& ds = *ff->getDataset();
      DcmElement* e = nullptr;
      REQUIRE(ds.findAndGetElement(DCM_SmallestImagePixelValue, e).good());
      CHECK(e->getVR() == EVR_US);
      for (const auto& key : {DcmTagKey(0x0028, 0x1201), DcmTagKey(0x0008, 0x1115),
                              DcmTagKey(0x0020, 0x5000), DcmTagKey(0x0018, 0x9219)}) {
        CAPTURE(key.toString());
        CHECK(listed(*r, key));
        CHECK_FALSE(ds.tagExists(key));
      }
      CHECK(r->skipped.size() == 4);
      CHECK(get(ds, DCM_ExposureTime) == "70000");
      CHECK(get(ds, DCM_PixelSpacing) == "0.5\\0.5");
      Float64 fd = 0;
      CHECK(ds.findAndGetFloat64(DcmTagKey(0x0018, 0x9087), fd).good());
      CHECK(fd == 1500.0);
      Uint16 overlay_rows = 0;
      CHECK(ds.findAndGetUint16(DcmTagKey(0x6000, 0x0010), overlay_rows).good());
      CHECK(overlay_rows == 2);
      CHECK(get(ds, DCM_SpecificCharacterSet) == "ISO_IR 192");
      CHECK(get(*ff->getMetaInfo(), DCM_TransferSyntaxUID)
            == UID_LittleEndianExplicitTransferSyntax);
    }
    SUBCASE("PixelRepresentation 1 makes it signed")
    {
      set(tags, 0x0028, 0x0103, "1");
      set(tags, 0x0028, 0x0106, "-7");
      const auto r = dicom::reassemble(tags, pixels, out);
      REQUIRE_MESSAGE(r, r.error().message());
      auto ff = load(out);
      DcmElement* e = nullptr;
      REQUIRE(ff->getDataset()->findAndGetElement(DCM_SmallestImagePixelValue, e).good());
      CHECK(e->getVR() == EVR_SS);
      Sint16 v = 0;
      CHECK(e->getSint16(v).good());
      CHECK(v == -7);
    }
  }

  TEST_CASE("a pixel body of the wrong size is an error")
  {
    testutil::TempDir dir;
    const auto out = dir.path() / "w.dcm";
    const auto r = dicom::reassemble(minimal_tags(), std::string(11, '\0'), out);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == dicom::Errc::malformed);
    CHECK_FALSE(fs::exists(out));

    const auto ct = pydicom_file("CT_small.dcm");
    if (!ct.empty()) {
      // A codestream for another image size fails the decode check.
      auto tags = testutil::render_tags(ct);
      set(tags, 0x0028, 0x0010, "64");
      const auto j2k = dicom::reassemble(tags, testutil::encode_jpeg2000(ct, {}), out);
      REQUIRE_FALSE(j2k);
      CHECK(j2k.error().code == dicom::Errc::malformed);
    }
  }

  TEST_CASE("a codestream declaring another or a huge size is refused before decoding")
  {
    const auto rgb = pydicom_file("SC_rgb_small_odd.dcm");
    if (rgb.empty()) {
      MESSAGE("python3-pydicom not installed; skipped");
      return;
    }
    testutil::TempDir dir;
    const auto out = dir.path() / "big.dcm";
    const std::string good = testutil::encode_jpeg2000(rgb, {});
    const auto tags = testutil::render_tags(rgb);

    SUBCASE("2000x2000x3 where the tags say otherwise")
    {
      // Decodable in a test, so without the header check it would decode
      // and fail later with another message.
      const auto r = dicom::reassemble(tags, with_siz(good, 2000, 2000), out);
      REQUIRE_FALSE(r);
      CHECK(r.error().code == dicom::Errc::malformed);
      CHECK(r.error().detail.find("declares 2000x2000x3") != std::string::npos);
    }
    SUBCASE("60000x60000x3 where the tags say otherwise")
    {
      const auto r = dicom::reassemble(tags, with_siz(good, 60000, 60000), out);
      REQUIRE_FALSE(r);
      CHECK(r.error().detail.find("declares 60000x60000x3") != std::string::npos);
    }
    SUBCASE("60000x60000x3 and the tags agree: over the sample cap")
    {
      auto big_tags = tags;
      set(big_tags, 0x0028, 0x0010, "60000");
      set(big_tags, 0x0028, 0x0011, "60000");
      const auto r = dicom::reassemble(big_tags, with_siz(good, 60000, 60000), out);
      REQUIRE_FALSE(r);
      CHECK(r.error().detail.find("declares 60000x60000x3 samples, outside 1 to 268435456")
            != std::string::npos);
    }
    CHECK_FALSE(fs::exists(out));
  }

  TEST_CASE("a body of 4 GiB or more is refused before it is copied into one fragment")
  {
    // The Pixel Item length is 32 bits: 2^32 + 2 bytes once wrapped to 2 in
    // createUint8Array and were then copied in full (heap overflow). The
    // body is a sparse anonymous mapping with a real codestream in front,
    // so nothing near 4 GiB is ever allocated.
    const auto ct = pydicom_file("CT_small.dcm");
    if (ct.empty()) {
      MESSAGE("python3-pydicom not installed; skipped");
      return;
    }
    const std::string codestream = testutil::encode_jpeg2000(ct, {});
    const std::size_t size = (std::size_t{1} << 32) + 2;
    void* map = mmap(nullptr, size, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (map == MAP_FAILED) {
      MESSAGE("cannot map 4 GiB of address space; skipped");
      return;
    }
    std::memcpy(map, codestream.data(), codestream.size());
    testutil::TempDir dir;
    const auto out = dir.path() / "huge.dcm";

    const std::string_view body(static_cast<char*>(map), size);
    const auto r = dicom::reassemble(testutil::render_tags(ct), body, out);

    munmap(map, size);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == dicom::Errc::malformed);
    CHECK(r.error().detail.find("exceeds 4 GiB") != std::string::npos);
    CHECK_FALSE(fs::exists(out));
  }

  TEST_CASE("a missing SOP Instance UID is missing_uid")
  {
    testutil::TempDir dir;
    auto tags = minimal_tags();
    tags.erase(
        std::remove_if(tags.begin(), tags.end(),
                       [](const auto& t) { return t.group == 0x0008 && t.element == 0x0018; }),
        tags.end());
    const auto r = dicom::reassemble(tags, std::string(12, '\0'), dir.path() / "m.dcm");
    REQUIRE_FALSE(r);
    CHECK(r.error().code == dicom::Errc::missing_uid);
  }

  TEST_CASE("jpeg2000_codestream walks the top-level JP2 boxes")
  {
    const std::string ftyp = be32(20) + "ftypjp2 " + be32(0) + "jp2 ";
    const std::string jp2h = be32(8 + 4) + "jp2h" + "abcd";

    CHECK(dicom::jpeg2000_codestream(k_codestream) == k_codestream);
    CHECK(
        dicom::jpeg2000_codestream(k_signature + ftyp + jp2h + be32(8 + 8) + "jp2c" + k_codestream)
        == k_codestream);
    // LBox 0: the last box runs to the end of the data.
    CHECK(dicom::jpeg2000_codestream(k_signature + ftyp + be32(0) + "jp2c" + k_codestream)
          == k_codestream);
    // LBox 1: a 64-bit XLBox follows the type.
    const std::string xl = be32(1) + "xml " + be32(0) + be32(16 + 3) + "<a>";
    CHECK(dicom::jpeg2000_codestream(k_signature + ftyp + xl + be32(1) + "jp2c" + be32(0)
                                     + be32(16 + 8) + k_codestream + "trailer")
          == k_codestream);
    // A jp2c box inside jp2h is not top level; nothing else is a codestream.
    CHECK(dicom::jpeg2000_codestream(k_signature + ftyp + be32(8 + 16) + "jp2h" + be32(16) + "jp2c"
                                     + k_codestream)
              .empty());
    CHECK(dicom::jpeg2000_codestream(k_signature + ftyp + be32(100) + "jp2c" + k_codestream)
              .empty()); // truncated
    CHECK(dicom::jpeg2000_codestream(k_signature + ftyp + be32(16) + "jp2c" + "notj2k!!").empty());
    CHECK(dicom::jpeg2000_codestream("<html>").empty());
    CHECK(dicom::jpeg2000_codestream({}).empty());
  }
}
