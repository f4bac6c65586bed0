// SPDX-License-Identifier: GPL-3.0-or-later
#include "reassemble.hpp"

#include "errors.hpp"
#include "jpeg2000_stream.hpp"
#include "openjpeg_memory.hpp"
#include "text_tags.hpp"

#include <core/log.hpp>
#include <core/strings.hpp>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcdicent.h>
#include <dcmtk/dcmdata/dcdict.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcmetinf.h>
#include <dcmtk/dcmdata/dcpixel.h>
#include <dcmtk/dcmdata/dcpixseq.h>
#include <dcmtk/dcmdata/dcpxitem.h>
#include <dcmtk/dcmdata/dcswap.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmdata/dcvrsv.h>
#include <dcmtk/dcmdata/dcvruv.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <system_error>

namespace dicom {

namespace {

const char* const k_log = "dicom";

// SOC + SIZ, the start of every codestream (ISO/IEC 15444-1 A.4.1, A.5.1).
constexpr unsigned char k_soc_siz[] = {0xFF, 0x4F, 0xFF, 0x51};
// The JP2 signature box (ISO/IEC 15444-1 I.5.1).

std::uint32_t
be16(const unsigned char* p)
{
  return std::uint32_t{p[0]} << 8 | p[1];
}

std::uint32_t
be32(const unsigned char* p)
{
  return be16(p) << 16 | be16(p + 2);
}

const unsigned char*
bytes_of(std::string_view data)
{
  return reinterpret_cast<const unsigned char*>(data.data());
}

bool
starts_with(std::string_view data, const unsigned char* prefix, std::size_t n)
{
  return data.size() >= n && std::memcmp(data.data(), prefix, n) == 0;
}

// --- JPEG 2000 codestream -----------------------------------------------------

// What the main header of a codestream says (ISO/IEC 15444-1 A.5.1 SIZ,
// A.6.1 COD).
struct CodestreamInfo
{
  std::uint32_t width = 0;
  std::uint32_t height = 0;
  std::uint32_t components = 0;
  unsigned precision = 0; // of component 0
  bool is_signed = false;
  bool reversible = true; // 5/3 wavelet (else 9/7)
  bool mct = false;       // multiple component transform (RCT or ICT)
};

std::optional<CodestreamInfo>
read_main_header(std::string_view codestream)
{
  const unsigned char* p = bytes_of(codestream);
  const std::size_t size = codestream.size();
  if (!starts_with(codestream, k_soc_siz, sizeof k_soc_siz)) {
    return std::nullopt;
  }
  CodestreamInfo info;
  bool have_siz = false;
  bool have_cod = false;
  // Marker segments after SOC: marker (2), length Lxxx (2, counting
  // itself), parameters; the main header ends at the first SOT.
  std::size_t pos = 2;
  while (pos + 4 <= size) {
    const std::uint32_t marker = be16(p + pos);
    if ((marker & 0xFF00U) != 0xFF00U || marker == 0xFF90 /*SOT*/ || marker == 0xFFD9 /*EOC*/) {
      break;
    }
    const std::uint32_t length = be16(p + pos + 2);
    if (length < 2 || pos + 2 + length > size) {
      return std::nullopt;
    }
    const unsigned char* seg = p + pos;
    if (marker == 0xFF51 && length >= 41) {
      // SIZ: Rsiz(2) Xsiz Ysiz XOsiz YOsiz XTsiz YTsiz XTOsiz YTOsiz(4 each)
      // Csiz(2), then Ssiz XRsiz YRsiz per component.
      info.width = be32(seg + 6) - be32(seg + 14);
      info.height = be32(seg + 10) - be32(seg + 18);
      info.components = be16(seg + 38);
      const unsigned ssiz = seg[40];
      info.precision = (ssiz & 0x7FU) + 1;
      info.is_signed = (ssiz & 0x80U) != 0;
      have_siz = true;
    } else if (marker == 0xFF52 && length >= 12) {
      // COD: Scod(1); SGcod = progression(1) layers(2) MCT(1); SPcod =
      // levels(1) xcb(1) ycb(1) style(1) transformation(1).
      info.mct = seg[8] != 0;
      info.reversible = seg[13] == 1;
      have_cod = true;
    }
    pos += 2 + length;
  }
  if (!have_siz || !have_cod) {
    return std::nullopt;
  }
  return info;
}

struct Decoded
{
  std::uint32_t components = 0;
  std::uint32_t width = 0;
  std::uint32_t height = 0;
  unsigned max_precision = 0;
};

// Decode `codestream` completely (the verification the spec asks for: the
// data must decode, not only announce its size). Errors name OpenJPEG's
// first complaint.
core::Result<Decoded>
decode(std::string_view codestream, const openjpeg::Expected& expected)
{
  const auto fail = [](const std::string& what) {
    return core::make_error(Errc::malformed, "JPEG 2000: " + what);
  };
  std::string error;
  const auto image = openjpeg::decode(bytes_of(codestream), codestream.size(), expected, error);
  if (!image) {
    return fail(error);
  }
  Decoded d;
  d.components = image->numcomps;
  for (OPJ_UINT32 c = 0; c < image->numcomps; ++c) {
    const opj_image_comp_t& comp = image->comps[c];
    if (comp.data == nullptr) {
      return fail("component " + std::to_string(c) + " decoded to nothing");
    }
    if (c == 0) {
      d.width = comp.w;
      d.height = comp.h;
    } else if (comp.w != d.width || comp.h != d.height || comp.dx != 1 || comp.dy != 1) {
      return fail("subsampled components are not allowed (PS3.5 8.2.4)");
    }
    d.max_precision = std::max<unsigned>(d.max_precision, comp.prec);
  }
  return d;
}

// --- the Image Pixel module ---------------------------------------------------

// PS3.3 C.7.6.3: the attributes that fix the size of native pixel data.
struct Layout
{
  Uint16 rows = 0;
  Uint16 columns = 0;
  Uint16 samples = 1;
  Uint16 bits_allocated = 0;
  long frames = 1;
  std::string photometric;

  // PS3.5 8.1.1: native pixel data, bit-packed for BitsAllocated 1.
  std::uint64_t native_bytes() const
  {
    const std::uint64_t samples_total =
        std::uint64_t{rows} * columns * samples * static_cast<std::uint64_t>(frames);
    if (bits_allocated == 1) {
      return (samples_total + 7) / 8;
    }
    return samples_total * ((bits_allocated + 7U) / 8U);
  }
};

std::string
get_string(DcmItem& item, const DcmTagKey& key)
{
  OFString value;
  if (item.findAndGetOFStringArray(key, value).bad()) {
    return {};
  }
  return std::string(core::trim(std::string_view(value.c_str(), value.size())));
}

bool
has_value(DcmItem& item, const DcmTagKey& key)
{
  DcmElement* element = nullptr;
  return item.findAndGetElement(key, element).good() && element != nullptr
         && element->getLength() > 0;
}

core::Result<Layout>
read_layout(DcmDataset& ds)
{
  Layout l;
  if (ds.findAndGetUint16(DCM_Rows, l.rows).bad() || l.rows == 0
      || ds.findAndGetUint16(DCM_Columns, l.columns).bad() || l.columns == 0
      || ds.findAndGetUint16(DCM_BitsAllocated, l.bits_allocated).bad() || l.bits_allocated == 0) {
    return core::make_error(Errc::malformed, "Rows, Columns or BitsAllocated missing or zero");
  }
  if (ds.findAndGetUint16(DCM_SamplesPerPixel, l.samples).bad() || l.samples == 0) {
    l.samples = 1;
  }
  Sint32 frames = 1;
  if (ds.findAndGetSint32(DCM_NumberOfFrames, frames).good() && frames > 1) {
    l.frames = frames;
  }
  l.photometric = get_string(ds, DCM_PhotometricInterpretation);
  return l;
}

// Complete the Image Pixel module from the codestream where the tag list
// lacks it (platforms.md 3.1.6 [rec]); present values are never changed.
void
fill_from_codestream(DcmDataset& ds, const CodestreamInfo& cs)
{
  const auto put_missing = [&ds](const DcmTagKey& key, Uint16 value) {
    if (!has_value(ds, key)) {
      ds.putAndInsertUint16(key, value);
    }
  };
  if (cs.width <= 0xFFFF && cs.height <= 0xFFFF && cs.components <= 0xFFFF) {
    put_missing(DCM_Rows, static_cast<Uint16>(cs.height));
    put_missing(DCM_Columns, static_cast<Uint16>(cs.width));
    put_missing(DCM_SamplesPerPixel, static_cast<Uint16>(cs.components));
  }
  const Uint16 allocated = cs.precision <= 8 ? 8 : (cs.precision <= 16 ? 16 : 32);
  put_missing(DCM_BitsAllocated, allocated);
  put_missing(DCM_BitsStored, static_cast<Uint16>(cs.precision));
  put_missing(DCM_HighBit, static_cast<Uint16>(cs.precision - 1));
  put_missing(DCM_PixelRepresentation, cs.is_signed ? 1 : 0);
  if (!has_value(ds, DCM_PhotometricInterpretation)) {
    ds.putAndInsertString(DCM_PhotometricInterpretation,
                          cs.components == 1 ? "MONOCHROME2" : "RGB");
  }
}

// Append `value` to a multi-valued string attribute unless it is there already.
void
append_value(DcmDataset& ds, const DcmTagKey& key, const std::string& value)
{
  const std::string current = get_string(ds, key);
  for (const auto& v : core::split(current, '\\')) {
    if (core::trim(v) == value) {
      return;
    }
  }
  ds.putAndInsertString(key, (current.empty() ? value : current + "\\" + value).c_str());
}

// Whether `size` bytes, padded to even length, fit a 32-bit value or item
// length; 0xFFFFFFFF is the undefined length (PS3.5 7.1.1, A.4).
bool
fits_one_value(std::uint64_t size)
{
  return size <= 0xFFFFFFFDULL;
}

// Pixel Data of one JPEG 2000 codestream: encapsulated (PS3.5 A.4) with an
// empty Basic Offset Table and the codestream as one fragment, padded to
// even length.
OFCondition
put_encapsulated(DcmDataset& ds, E_TransferSyntax xfer, std::string_view codestream)
{
  if (!fits_one_value(codestream.size())) {
    return makeOFCondition(EC_TooManyBytesRequested.theModule, EC_TooManyBytesRequested.theCode,
                           OF_error, "JPEG 2000 codestream exceeds 4 GiB");
  }
  auto seq = std::make_unique<DcmPixelSequence>(DCM_PixelSequenceTag);
  if (OFCondition cond = seq->insert(new DcmPixelItem(DCM_PixelItemTag)); cond.bad()) {
    return cond;
  }
  auto fragment = std::make_unique<DcmPixelItem>(DCM_PixelItemTag);
  const std::size_t padded = codestream.size() + (codestream.size() & 1U);
  Uint8* bytes = nullptr;
  if (OFCondition cond = fragment->createUint8Array(static_cast<Uint32>(padded), bytes);
      cond.bad()) {
    return cond;
  }
  std::memcpy(bytes, codestream.data(), codestream.size());
  if (padded != codestream.size()) {
    bytes[codestream.size()] = 0;
  }
  if (OFCondition cond = seq->insert(fragment.get()); cond.bad()) {
    return cond;
  }
  fragment.release();
  auto pixel = std::make_unique<DcmPixelData>(DCM_PixelData);
  pixel->putOriginalRepresentation(xfer, nullptr, seq.release());
  if (OFCondition cond = ds.insert(pixel.get(), OFTrue); cond.bad()) {
    return cond;
  }
  pixel.release();
  return EC_Normal;
}

// Native Pixel Data in Explicit VR Little Endian: OW for BitsAllocated > 8,
// else OB (PS3.5 A.2, 8.2).
OFCondition
put_native(DcmDataset& ds, Uint16 bits_allocated, std::string_view pixels)
{
  const bool words = bits_allocated > 8;
  auto pixel = std::make_unique<DcmPixelData>(DcmTag(DCM_PixelData, words ? EVR_OW : EVR_OB));
  const std::size_t padded = pixels.size() + (pixels.size() & 1U);
  if (words) {
    Uint16* data = nullptr;
    if (OFCondition cond = pixel->createUint16Array(static_cast<Uint32>(padded / 2), data);
        cond.bad()) {
      return cond;
    }
    std::memcpy(data, pixels.data(), pixels.size());
    // The body is little endian; OW words live in host order in memory.
    swapIfNecessary(gLocalByteOrder, EBO_LittleEndian, data, static_cast<Uint32>(padded), 2);
  } else {
    Uint8* data = nullptr;
    if (OFCondition cond = pixel->createUint8Array(static_cast<Uint32>(padded), data); cond.bad()) {
      return cond;
    }
    std::memcpy(data, pixels.data(), pixels.size());
    if (padded != pixels.size()) {
      data[pixels.size()] = 0;
    }
  }
  if (OFCondition cond = ds.insert(pixel.get(), OFTrue); cond.bad()) {
    return cond;
  }
  pixel.release();
  return EC_Normal;
}

std::string
size_text(std::uint64_t bytes)
{
  return std::to_string(bytes) + " bytes";
}

// Put the pixel body into `ds` and return the transfer syntax it needs.
core::Result<E_TransferSyntax>
add_pixels(DcmDataset& ds, std::string_view pixels, Reassembled& result)
{
  // Checked first, before a decode of gigabytes: neither a fragment nor a
  // native value can hold it.
  if (!fits_one_value(pixels.size())) {
    return core::make_error(Errc::malformed,
                            "pixel body of " + size_text(pixels.size()) + " exceeds 4 GiB");
  }
  const std::string_view codestream = jpeg2000_codestream(pixels);
  std::optional<core::Error> j2k_error;
  if (!codestream.empty()) {
    const auto header = read_main_header(codestream);
    if (!header) {
      j2k_error = core::make_error(Errc::malformed, "JPEG 2000: no SIZ/COD in the main header");
    } else {
      fill_from_codestream(ds, *header);
      auto layout = read_layout(ds);
      if (!layout) {
        return layout.error();
      }
      // The SIZ marker must describe the image the tags describe before
      // OpenJPEG sizes its buffers from it (one codestream, one frame:
      // PS3.5 A.4.4).
      const openjpeg::Expected tags{layout->columns, layout->rows, layout->samples,
                                    layout->bits_allocated};
      auto refusal = openjpeg::refuse_size(header->width, header->height, header->components,
                                           header->precision, tags);
      if (!refusal && layout->frames != 1) {
        refusal = "one codestream for " + std::to_string(layout->frames) + " frames";
      }
      auto decoded =
          refusal
              ? core::Result<Decoded>(core::make_error(Errc::malformed, "JPEG 2000: " + *refusal))
              : decode(codestream, tags);
      if (!decoded) {
        j2k_error = decoded.error();
      } else {
        // One codestream is one frame (PS3.5 A.4.4), so the decoded size must
        // be the whole of Rows x Columns x Samples x BitsAllocated x Frames.
        const std::uint64_t expected = layout->native_bytes();
        const std::uint64_t got = std::uint64_t{decoded->width} * decoded->height
                                  * decoded->components * ((layout->bits_allocated + 7U) / 8U);
        if (got != expected || decoded->width != layout->columns || decoded->height != layout->rows
            || decoded->max_precision > layout->bits_allocated) {
          j2k_error = core::make_error(
              Errc::malformed,
              "JPEG 2000: decodes to " + std::to_string(decoded->width) + "x"
                  + std::to_string(decoded->height) + "x" + std::to_string(decoded->components)
                  + " (" + size_text(got) + "), the tags say " + std::to_string(layout->columns)
                  + "x" + std::to_string(layout->rows) + "x" + std::to_string(layout->samples)
                  + " x " + std::to_string(layout->frames) + " frame(s) (" + size_text(expected)
                  + ")");
        }
      }
      if (!j2k_error) {
        const bool lossless = header->reversible;
        const E_TransferSyntax xfer = lossless ? EXS_JPEG2000LosslessOnly : EXS_JPEG2000;
        // PS3.5 8.2.4: with the multiple component transform the colour
        // space is YBR_RCT (reversible) or YBR_ICT (irreversible); without
        // it the components are stored as they are (RGB, YBR_FULL).
        if (layout->samples == 3) {
          if (header->mct) {
            ds.putAndInsertString(DCM_PhotometricInterpretation, lossless ? "YBR_RCT" : "YBR_ICT");
          } else if (layout->photometric == "YBR_RCT" || layout->photometric == "YBR_ICT") {
            ds.putAndInsertString(DCM_PhotometricInterpretation, "RGB");
          }
        }
        if (layout->samples > 1) {
          ds.putAndInsertUint16(DCM_PlanarConfiguration, 0);
        }
        if (!lossless) {
          // PS3.3 C.7.6.1.1.5: once lossy, always flagged, method and ratio
          // appended to any earlier history.
          result.lossy = true;
          ds.putAndInsertString(DCM_LossyImageCompression, "01");
          append_value(ds, DCM_LossyImageCompressionMethod, "ISO_15444_1");
          char ratio[32];
          std::snprintf(ratio, sizeof ratio, "%.2f",
                        static_cast<double>(layout->native_bytes())
                            / static_cast<double>(codestream.size()));
          append_value(ds, DCM_LossyImageCompressionRatio, ratio);
        }
        if (OFCondition cond = put_encapsulated(ds, xfer, codestream); cond.bad()) {
          return core::make_error(Errc::write_failed, std::string("pixel data: ") + cond.text());
        }
        return xfer;
      }
    }
    // A native body that happens to start like a codestream is still native.
    auto layout = read_layout(ds);
    if (!layout || pixels.size() != layout->native_bytes()) {
      return *j2k_error;
    }
  }

  auto layout = read_layout(ds);
  if (!layout) {
    return layout.error();
  }
  const std::uint64_t expected = layout->native_bytes();
  if (pixels.size() != expected) {
    return core::make_error(
        Errc::malformed,
        "native pixel body has " + size_text(pixels.size()) + ", " + std::to_string(layout->rows)
            + "x" + std::to_string(layout->columns) + "x" + std::to_string(layout->samples)
            + " samples of " + std::to_string(layout->bits_allocated) + " bits x "
            + std::to_string(layout->frames) + " frame(s) need " + size_text(expected));
  }
  // Native data cannot be in a JPEG 2000 colour space (PS3.3 C.7.6.3.1.2):
  // the platform decoded it to RGB.
  if (layout->photometric == "YBR_RCT" || layout->photometric == "YBR_ICT") {
    ds.putAndInsertString(DCM_PhotometricInterpretation, "RGB");
  }
  if (OFCondition cond = put_native(ds, layout->bits_allocated, pixels); cond.bad()) {
    return core::make_error(Errc::write_failed, std::string("pixel data: ") + cond.text());
  }
  return EXS_LittleEndianExplicit;
}

} // namespace

core::Result<Reassembled>
reassemble(const std::vector<TextTag>& tags, std::string_view pixels,
           const std::filesystem::path& out)
{
  Reassembled result;
  DcmFileFormat ff;
  DcmDataset& ds = *ff.getDataset();
  DcmMetaInfo& meta = *ff.getMetaInfo();

  put_text_tags(tags, ds, meta, result.skipped);
  // The text arrived as Unicode, so it is stored as UTF-8 (PS3.3 C.12.1.1.2,
  // ISO_IR 192) whatever (0008,0005) the platform listed: that term described
  // the original bytes, not these, and is deliberately not kept anywhere.
  ds.putAndInsertString(DCM_SpecificCharacterSet, "ISO_IR 192");

  const std::pair<DcmTagKey, const char*> required[] = {
      {DCM_SOPClassUID, "SOP Class UID"},
      {DCM_SOPInstanceUID, "SOP Instance UID"},
      {DCM_StudyInstanceUID, "Study Instance UID"},
      {DCM_SeriesInstanceUID, "Series Instance UID"},
  };
  for (const auto& [key, name] : required) {
    if (get_string(ds, key).empty()) {
      return core::make_error(Errc::missing_uid, std::string(name) + " not in the tag list");
    }
  }
  const std::string sop_class = get_string(ds, DCM_SOPClassUID);
  const std::string sop_instance = get_string(ds, DCM_SOPInstanceUID);

  E_TransferSyntax xfer = EXS_LittleEndianExplicit;
  if (!pixels.empty() || has_value(ds, DCM_Rows)) {
    auto chosen = add_pixels(ds, pixels, result);
    if (!chosen) {
      auto error = chosen.error();
      error.detail = sop_instance + ": " + error.detail;
      return error;
    }
    xfer = *chosen;
  }
  result.transfer_syntax_uid = DcmXfer(xfer).getXferID();

  // PS3.10 7.1: the meta header names the instance and the syntax the data
  // set is actually written in.
  meta.putAndInsertString(DCM_MediaStorageSOPClassUID, sop_class.c_str());
  meta.putAndInsertString(DCM_MediaStorageSOPInstanceUID, sop_instance.c_str());
  meta.putAndInsertString(DCM_TransferSyntaxUID, result.transfer_syntax_uid.c_str());

  const OFCondition cond = ff.saveFile(out.c_str(), xfer, EET_ExplicitLength, EGL_recalcGL,
                                       EPD_noChange, 0, 0, EWM_updateMeta);
  if (cond.bad()) {
    std::error_code ec;
    std::filesystem::remove(out, ec);
    return core::make_error(Errc::write_failed, out.string() + " (" + cond.text() + ")");
  }
  CF_LOG(debug, k_log,
         "reassembled " << sop_instance << " as " << result.transfer_syntax_uid << ", "
                        << result.skipped.size() << " element(s) skipped");
  return result;
}

} // namespace dicom
