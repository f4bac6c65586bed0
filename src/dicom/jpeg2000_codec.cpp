// SPDX-License-Identifier: GPL-3.0-or-later
#include "jpeg2000_codec.hpp"

#include "jpeg2000_stream.hpp"
#include "openjpeg_memory.hpp"

#include <core/log.hpp>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dccodec.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcerror.h>
#include <dcmtk/dcmdata/dcitem.h>
#include <dcmtk/dcmdata/dcpixseq.h>
#include <dcmtk/dcmdata/dcpxitem.h>
#include <dcmtk/dcmdata/dcstack.h>
#include <dcmtk/dcmdata/dcswap.h>
#include <dcmtk/dcmdata/dcvrpobw.h>
#include <dcmtk/dcmdata/dcxfer.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <exception>
#include <functional>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

namespace dicom {

namespace {

const char* const k_log = "dicom";

OFCondition
failure(const std::string& text)
{
  // Same module and code as DCMTK's own "cannot change representation", with our text.
  return makeOFCondition(EC_CannotChangeRepresentation.theModule,
                         EC_CannotChangeRepresentation.theCode, OF_error,
                         ("JPEG 2000: " + text).c_str());
}

bool
starts_jpeg2000(const Uint8* data, std::size_t size)
{
  if (data == nullptr) {
    return false;
  }
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  return is_jp2_file(bytes) || is_j2k_codestream(bytes);
}

// Image Pixel module attributes that fix the decoded layout (PS3.3 C.7.6.3).
struct Layout
{
  Uint16 rows = 0;
  Uint16 columns = 0;
  Uint16 samples = 0;
  Uint16 bits_allocated = 0;
  Uint16 bits_stored = 0;
  Uint16 pixel_representation = 0;
  Uint32 frames = 1;
  std::string photometric;

  std::size_t bytes_per_sample() const { return bits_allocated / 8U; }
  std::uint64_t frame_bytes() const
  {
    return std::uint64_t{rows} * columns * samples * bytes_per_sample();
  }
};

OFCondition
read_layout(DcmItem& item, Layout& out)
{
  if (item.findAndGetUint16(DCM_Rows, out.rows).bad() || out.rows == 0
      || item.findAndGetUint16(DCM_Columns, out.columns).bad() || out.columns == 0
      || item.findAndGetUint16(DCM_SamplesPerPixel, out.samples).bad() || out.samples == 0
      || item.findAndGetUint16(DCM_BitsAllocated, out.bits_allocated).bad()) {
    return failure("Rows, Columns, SamplesPerPixel or BitsAllocated missing or zero");
  }
  if (out.bits_allocated != 8 && out.bits_allocated != 16 && out.bits_allocated != 32) {
    return failure("unsupported BitsAllocated " + std::to_string(out.bits_allocated));
  }
  if (item.findAndGetUint16(DCM_BitsStored, out.bits_stored).bad() || out.bits_stored == 0
      || out.bits_stored > out.bits_allocated) {
    out.bits_stored = out.bits_allocated;
  }
  item.findAndGetUint16(DCM_PixelRepresentation, out.pixel_representation);
  Sint32 frames = 1;
  if (item.findAndGetSint32(DCM_NumberOfFrames, frames).good() && frames > 1) {
    out.frames = static_cast<Uint32>(frames);
  }
  OFString pi;
  item.findAndGetOFString(DCM_PhotometricInterpretation, pi);
  out.photometric = pi.c_str();
  // The total, padded to even length, must fit the 32-bit value length of
  // native Pixel Data (PS3.5 7.1.1), so at most 0xFFFFFFFD bytes. Divided,
  // not multiplied: frame_bytes() reaches 2^50 and frames 2^31, and a
  // wrapped product would size the buffer too small.
  if (out.frames > 0xFFFFFFFDULL / out.frame_bytes()) {
    return failure("decoded pixel data would exceed 4 GiB");
  }
  return EC_Normal;
}

// OpenJPEG undoes the reversible/irreversible colour transform itself when
// the codestream says so (COD, ISO/IEC 15444-1 A.6.1), so decoded YBR_RCT and
// YBR_ICT data are RGB (PS3.3 C.7.6.3.1.2).
std::string
decoded_photometric(const std::string& photometric)
{
  if (photometric == "YBR_RCT" || photometric == "YBR_ICT") {
    return "RGB";
  }
  return photometric;
}

// Fragment ranges [first, last) of each frame, as pixel item indexes; item 0
// is the Basic Offset Table (PS3.5 A.4).
using FrameItems = std::vector<std::pair<Uint32, Uint32>>;

OFCondition
item_data(DcmPixelSequence& seq, Uint32 index, Uint8*& data, Uint32& length)
{
  DcmPixelItem* item = nullptr;
  OFCondition cond = seq.getItem(item, index);
  if (cond.bad() || item == nullptr) {
    return failure("cannot access fragment " + std::to_string(index));
  }
  length = item->getLength();
  data = nullptr;
  if (length == 0) {
    return EC_Normal;
  }
  cond = item->getUint8Array(data);
  if (cond.bad()) {
    return failure("cannot read fragment " + std::to_string(index) + ": " + cond.text());
  }
  return EC_Normal;
}

// Frame starts from the Basic Offset Table: byte offsets of each frame's
// first fragment, counted from the first byte of the first fragment's item
// tag (PS3.5 A.4). False if the table is empty or does not fit.
bool
frames_from_offset_table(DcmPixelSequence& seq, Uint32 frames, FrameItems& out)
{
  const Uint32 count = static_cast<Uint32>(seq.card());
  Uint8* table = nullptr;
  Uint32 table_length = 0;
  if (item_data(seq, 0, table, table_length).bad() || table_length != 4 * frames) {
    return false;
  }
  std::vector<Uint32> starts;
  std::uint64_t position = 0;
  for (Uint32 i = 1; i < count && starts.size() < frames; ++i) {
    const std::size_t f = starts.size();
    const std::uint64_t wanted = std::uint64_t{table[4 * f]} | std::uint64_t{table[4 * f + 1]} << 8
                                 | std::uint64_t{table[4 * f + 2]} << 16
                                 | std::uint64_t{table[4 * f + 3]} << 24;
    if (wanted == position) {
      starts.push_back(i);
    } else if (wanted < position) {
      return false; // not on a fragment boundary, or not increasing
    }
    DcmPixelItem* item = nullptr;
    if (seq.getItem(item, i).bad() || item == nullptr) {
      return false;
    }
    position += 8 + std::uint64_t{item->getLength()};
  }
  if (starts.size() != frames || starts.front() != 1) {
    return false;
  }
  out.clear();
  for (std::size_t f = 0; f < frames; ++f) {
    out.emplace_back(starts[f], f + 1 < frames ? starts[f + 1] : count);
  }
  return true;
}

OFCondition
frame_items(DcmPixelSequence& seq, Uint32 frames, FrameItems& out)
{
  const Uint32 count = static_cast<Uint32>(seq.card());
  if (count < 2) {
    return failure("no fragments in the pixel sequence");
  }
  const Uint32 fragments = count - 1;
  out.clear();
  if (frames == 1) {
    out.emplace_back(1, count);
    return EC_Normal;
  }
  if (fragments < frames) {
    return failure(std::to_string(fragments) + " fragments for " + std::to_string(frames)
                   + " frames");
  }
  if (fragments == frames) {
    for (Uint32 f = 0; f < frames; ++f) {
      out.emplace_back(f + 1, f + 2);
    }
    return EC_Normal;
  }
  if (frames_from_offset_table(seq, frames, out)) {
    return EC_Normal;
  }
  // No usable offset table: a frame starts at each fragment that begins a
  // codestream. A later fragment could begin with those bytes by chance, so
  // the count must match exactly.
  std::vector<Uint32> starts;
  for (Uint32 i = 1; i < count; ++i) {
    Uint8* data = nullptr;
    Uint32 length = 0;
    if (OFCondition cond = item_data(seq, i, data, length); cond.bad()) {
      return cond;
    }
    if (starts_jpeg2000(data, length)) {
      starts.push_back(i);
    }
  }
  if (starts.size() != frames || starts.front() != 1) {
    return failure("cannot tell where each of " + std::to_string(frames) + " frames starts in "
                   + std::to_string(fragments) + " fragments");
  }
  for (std::size_t f = 0; f < frames; ++f) {
    out.emplace_back(starts[f], f + 1 < frames ? starts[f + 1] : count);
  }
  return EC_Normal;
}

OFCondition
gather(DcmPixelSequence& seq, const std::pair<Uint32, Uint32>& range, std::vector<Uint8>& out)
{
  out.clear();
  for (Uint32 i = range.first; i < range.second; ++i) {
    Uint8* data = nullptr;
    Uint32 length = 0;
    if (OFCondition cond = item_data(seq, i, data, length); cond.bad()) {
      return cond;
    }
    if (length > 0) {
      out.insert(out.end(), data, data + length);
    }
  }
  return EC_Normal;
}

// Decode one frame's codestream into `out` (layout.frame_bytes() bytes):
// interleaved samples, each little-endian in bits_allocated / 8 bytes.
OFCondition
decode_codestream(const std::vector<Uint8>& bytes, const Layout& layout, Uint8* out)
{
  if (!starts_jpeg2000(bytes.data(), bytes.size())) {
    return failure("fragment does not start with a codestream (SOC/SIZ) or a JP2 signature");
  }
  std::string error;
  const openjpeg::Expected expected{layout.columns, layout.rows, layout.samples,
                                    layout.bits_allocated};
  const auto image = openjpeg::decode(bytes.data(), bytes.size(), expected, error);
  if (!image) {
    return failure(error);
  }

  // The codestream must describe the image the dataset describes.
  if (image->numcomps != layout.samples) {
    return failure(std::to_string(image->numcomps) + " components, SamplesPerPixel is "
                   + std::to_string(layout.samples));
  }
  const unsigned container_bits = layout.bits_allocated;
  for (OPJ_UINT32 c = 0; c < image->numcomps; ++c) {
    const opj_image_comp_t& comp = image->comps[c];
    if (comp.w != layout.columns || comp.h != layout.rows || comp.dx != 1 || comp.dy != 1) {
      return failure("component " + std::to_string(c) + " is " + std::to_string(comp.w) + "x"
                     + std::to_string(comp.h) + " (subsampling " + std::to_string(comp.dx) + "x"
                     + std::to_string(comp.dy) + "), the dataset says "
                     + std::to_string(layout.columns) + "x" + std::to_string(layout.rows));
    }
    if (comp.data == nullptr) {
      return failure("component " + std::to_string(c) + " has no data");
    }
    if (comp.prec == 0 || comp.prec > container_bits) {
      return failure("component precision " + std::to_string(comp.prec)
                     + " does not fit BitsAllocated " + std::to_string(container_bits));
    }
  }

  // Interleave (PlanarConfiguration 0). For signed data (PixelRepresentation 1)
  // the two's complement bits are kept; a codestream that calls signed
  // samples unsigned (seen in the wild) is sign-extended from BitsStored, so
  // the result reads the same whether or not a reader masks to BitsStored.
  const std::size_t bps = layout.bytes_per_sample();
  const std::size_t pixels = std::size_t{layout.rows} * layout.columns;
  const std::size_t samples = layout.samples;
  for (std::size_t c = 0; c < samples; ++c) {
    const opj_image_comp_t& comp = image->comps[c];
    const bool extend =
        layout.pixel_representation == 1 && comp.sgnd == 0 && layout.bits_stored < container_bits;
    const std::uint32_t sign_bit = extend ? (std::uint32_t{1} << (layout.bits_stored - 1)) : 0;
    const std::uint32_t value_mask =
        extend ? ((std::uint32_t{1} << layout.bits_stored) - 1) : 0xFFFFFFFFU;
    Uint8* dst = out + c * bps;
    for (std::size_t i = 0; i < pixels; ++i, dst += samples * bps) {
      auto v = static_cast<std::uint32_t>(comp.data[i]);
      if (extend) {
        v &= value_mask;
        if ((v & sign_bit) != 0) {
          v |= ~value_mask;
        }
      }
      for (std::size_t b = 0; b < bps; ++b) {
        dst[b] = static_cast<Uint8>(v >> (8 * b));
      }
    }
  }
  return EC_Normal;
}

// --- the DCMTK codec ----------------------------------------------------------

} // namespace

OFCondition
detail::guarded_codec_call(const std::function<OFCondition()>& body) noexcept
{
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return EC_MemoryExhausted;
  } catch (const std::exception& e) {
    try {
      return failure(e.what());
    } catch (...) {
      return EC_MemoryExhausted;
    }
  } catch (...) {
    return EC_IllegalCall;
  }
}

namespace {

class Jpeg2000Parameter : public DcmCodecParameter
{
public:
  DcmCodecParameter* clone() const override { return new Jpeg2000Parameter(*this); }
  const char* className() const override { return "cloudfilm::Jpeg2000Parameter"; }
};

bool
is_jpeg2000(E_TransferSyntax ts)
{
  return ts == EXS_JPEG2000LosslessOnly || ts == EXS_JPEG2000;
}

class Jpeg2000Decoder : public DcmCodec
{
public:
  OFCondition decode(const DcmRepresentationParameter* /*from_param*/, DcmPixelSequence* seq,
                     DcmPolymorphOBOW& out, const DcmCodecParameter* /*cp*/, const DcmStack& stack,
                     OFBool& remove_old_rep) const override
  {
    // DCMTK's codec list is no place for an exception (bad_alloc).
    return detail::guarded_codec_call([&] { return decode_all(seq, out, stack, remove_old_rep); });
  }

  OFCondition decodeFrame(const DcmRepresentationParameter* /*from_param*/, DcmPixelSequence* seq,
                          const DcmCodecParameter* /*cp*/, DcmItem* dataset, Uint32 frame_no,
                          Uint32& start_fragment, void* buffer, Uint32 buffer_size,
                          OFString& decompressed_color_model) const override
  {
    return detail::guarded_codec_call([&] {
      return decode_one(seq, dataset, frame_no, start_fragment, buffer, buffer_size,
                        decompressed_color_model);
    });
  }

  OFCondition decode_all(DcmPixelSequence* seq, DcmPolymorphOBOW& out, const DcmStack& stack,
                         OFBool& remove_old_rep) const
  {
    // The stack ends with the pixel data element; below it, its dataset or item.
    DcmStack local(stack);
    local.pop();
    DcmObject* parent = local.pop();
    if (seq == nullptr || parent == nullptr
        || (parent->ident() != EVR_dataset && parent->ident() != EVR_item)) {
      return EC_IllegalCall;
    }
    auto& item = *static_cast<DcmItem*>(parent);
    Layout layout;
    if (OFCondition cond = read_layout(item, layout); cond.bad()) {
      return cond;
    }
    FrameItems ranges;
    if (OFCondition cond = frame_items(*seq, layout.frames, ranges); cond.bad()) {
      return cond;
    }

    // Even length (PS3.5 7.1.1): an odd total gets one zero pad byte.
    const auto frame_bytes = static_cast<std::size_t>(layout.frame_bytes());
    const std::size_t total = frame_bytes * layout.frames;
    const std::size_t padded = total + (total & 1U);
    Uint16* words = nullptr;
    if (OFCondition cond = out.createUint16Array(static_cast<Uint32>(padded / 2), words);
        cond.bad()) {
      return cond;
    }
    auto* bytes = reinterpret_cast<Uint8*>(words);
    if (padded != total) {
      bytes[total] = 0;
    }
    std::vector<Uint8> codestream;
    for (Uint32 f = 0; f < layout.frames; ++f) {
      OFCondition cond = gather(*seq, ranges[f], codestream);
      if (cond.good()) {
        cond = decode_codestream(codestream, layout, bytes + f * frame_bytes);
      }
      if (cond.bad()) {
        if (layout.frames == 1) {
          return cond;
        }
        return failure("frame " + std::to_string(f + 1) + ": " + cond.text());
      }
    }
    // Little-endian bytes → OW words in local byte order (a no-op on x86).
    swapIfNecessary(gLocalByteOrder, EBO_LittleEndian, words, static_cast<Uint32>(padded), 2);

    if (OFCondition cond = update_pixel_module(item, layout); cond.bad()) {
      return cond;
    }
    // The Image Pixel module may have changed (PhotometricInterpretation):
    // the compressed representation no longer matches it.
    remove_old_rep = OFTrue;
    return EC_Normal;
  }

  OFCondition decode_one(DcmPixelSequence* seq, DcmItem* dataset, Uint32 frame_no,
                         Uint32& start_fragment, void* buffer, Uint32 buffer_size,
                         OFString& decompressed_color_model) const
  {
    if (seq == nullptr || dataset == nullptr || buffer == nullptr) {
      return EC_IllegalCall;
    }
    Layout layout;
    if (OFCondition cond = read_layout(*dataset, layout); cond.bad()) {
      return cond;
    }
    if (frame_no >= layout.frames) {
      return failure("frame " + std::to_string(frame_no) + " of " + std::to_string(layout.frames)
                     + " requested");
    }
    const auto frame_bytes = static_cast<std::size_t>(layout.frame_bytes());
    if (buffer_size < frame_bytes) {
      return failure("frame buffer too small");
    }
    FrameItems ranges;
    if (OFCondition cond = frame_items(*seq, layout.frames, ranges); cond.bad()) {
      return cond;
    }
    std::vector<Uint8> codestream;
    if (OFCondition cond = gather(*seq, ranges[frame_no], codestream); cond.bad()) {
      return cond;
    }
    if (OFCondition cond = decode_codestream(codestream, layout, static_cast<Uint8*>(buffer));
        cond.bad()) {
      return cond;
    }
    swapIfNecessary(gLocalByteOrder, EBO_LittleEndian, buffer,
                    static_cast<Uint32>(frame_bytes & ~std::size_t{1}), 2);
    start_fragment = ranges[frame_no].second;
    decompressed_color_model = decoded_photometric(layout.photometric).c_str();
    // Readers of this frame (DicomImage) take the layout from the dataset.
    if (layout.samples > 1) {
      dataset->putAndInsertUint16(DCM_PlanarConfiguration, 0);
    }
    return EC_Normal;
  }

  OFCondition encode(const Uint16*, const Uint32, const DcmRepresentationParameter*,
                     DcmPixelSequence*&, const DcmCodecParameter*, DcmStack&,
                     OFBool&) const override
  {
    return EC_IllegalCall; // decoder only
  }

  OFCondition encode(const E_TransferSyntax, const DcmRepresentationParameter*, DcmPixelSequence*,
                     const DcmRepresentationParameter*, DcmPixelSequence*&,
                     const DcmCodecParameter*, DcmStack&, OFBool&) const override
  {
    return EC_IllegalCall;
  }

  OFBool canChangeCoding(const E_TransferSyntax old_type,
                         const E_TransferSyntax new_type) const override
  {
    return is_jpeg2000(old_type) && DcmXfer(new_type).isNotEncapsulated();
  }

  OFCondition determineDecompressedColorModel(const DcmRepresentationParameter*, DcmPixelSequence*,
                                              const DcmCodecParameter*, DcmItem* dataset,
                                              OFString& model) const override
  {
    if (dataset == nullptr) {
      return EC_IllegalCall;
    }
    OFString pi;
    if (OFCondition cond = dataset->findAndGetOFString(DCM_PhotometricInterpretation, pi);
        cond.bad()) {
      return cond;
    }
    model = decoded_photometric(pi.c_str()).c_str();
    return EC_Normal;
  }

private:
  // Decoded samples are interleaved and, for YBR_RCT/YBR_ICT, RGB. Lossy
  // Image Compression stays as it was: only the encoder knew (PS3.3
  // C.7.6.1.1.5).
  static OFCondition update_pixel_module(DcmItem& item, const Layout& layout)
  {
    const std::string pi = decoded_photometric(layout.photometric);
    if (pi != layout.photometric) {
      if (OFCondition cond = item.putAndInsertString(DCM_PhotometricInterpretation, pi.c_str());
          cond.bad()) {
        return cond;
      }
    }
    if (layout.samples > 1) {
      return item.putAndInsertUint16(DCM_PlanarConfiguration, 0);
    }
    return EC_Normal;
  }
};

std::unique_ptr<Jpeg2000Decoder> g_decoder;
std::unique_ptr<Jpeg2000Parameter> g_parameter;

} // namespace

void
register_jpeg2000_decoder()
{
  if (g_decoder) {
    return;
  }
  g_decoder = std::make_unique<Jpeg2000Decoder>();
  g_parameter = std::make_unique<Jpeg2000Parameter>();
  // DcmCodecList refuses a null codec parameter (EC_IllegalParameter).
  const OFCondition cond = DcmCodecList::registerCodec(g_decoder.get(), nullptr, g_parameter.get());
  if (cond.bad()) {
    CF_LOG(error, k_log, "cannot register the JPEG 2000 decoder: " << cond.text());
    g_decoder.reset();
    g_parameter.reset();
  }
}

void
unregister_jpeg2000_decoder()
{
  if (!g_decoder) {
    return;
  }
  DcmCodecList::deregisterCodec(g_decoder.get());
  g_decoder.reset();
  g_parameter.reset();
}

} // namespace dicom
