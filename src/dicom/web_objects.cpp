// SPDX-License-Identifier: GPL-3.0-or-later
// DICOM JSON, frames and converted copies of stored instances for DICOMweb.
#include "web_objects.hpp"

#include "charset.hpp"
#include "errors.hpp"
#include "jpeg2000_stream.hpp"
#include "transcode.hpp"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcjson.h>
#include <dcmtk/dcmdata/dcpixel.h>
#include <dcmtk/dcmdata/dcpixseq.h>
#include <dcmtk/dcmdata/dcpxitem.h>
#include <dcmtk/dcmdata/dcxfer.h>

#include <sstream>

namespace dicom {

namespace {

// Values longer than this stay on disk until written (pixel data).
constexpr Uint32 k_max_read = 4096;

core::Result<void>
load(DcmFileFormat& ff, const std::filesystem::path& file)
{
  try {
    const auto cond = ff.loadFile(file.c_str(), EXS_Unknown, EGL_noChange, k_max_read);
    if (cond.bad()) {
      return core::make_error(Errc::malformed, file.filename().string() + ": " + cond.text());
    }
  } catch (const std::exception& e) {
    return core::make_error(Errc::malformed, file.filename().string() + ": " + e.what());
  }
  return {};
}

class BulkFormat final : public DcmJsonFormatCompact
{
public:
  explicit BulkFormat(std::string uri) : DcmJsonFormatCompact(OFFalse), m_uri(std::move(uri)) {}

  OFBool asBulkDataURI(const DcmTagKey& tag, OFString& uri) override
  {
    if (tag == DCM_PixelData || tag == DCM_FloatPixelData || tag == DCM_DoubleFloatPixelData) {
      uri = m_uri.c_str();
      return OFTrue;
    }
    return OFFalse;
  }

private:
  std::string m_uri;
};

bool
is_jpeg2000(const std::string& ts)
{
  return ts == "1.2.840.10008.1.2.4.90" || ts == "1.2.840.10008.1.2.4.91"
         || ts == "1.2.840.10008.1.2.4.92" || ts == "1.2.840.10008.1.2.4.93";
}

// A compressed frame as PS3.18 8.7.3.3.2 sends it: JPEG 2000 as the bare
// codestream (a JP2 wrapper and the pad byte after EOC dropped).
std::string
clean_frame(std::string frame, const std::string& ts)
{
  if (!is_jpeg2000(ts)) {
    return frame;
  }
  const auto cs = jpeg2000_codestream(frame);
  if (!cs.empty() && cs.size() != frame.size()) {
    frame = std::string(cs);
  }
  // An odd-length codestream is padded to even length (PS3.5 A.4): EOC, then 00.
  if (frame.size() > 3 && frame.back() == '\0' && frame[frame.size() - 2] == '\xD9'
      && frame[frame.size() - 3] == '\xFF') {
    frame.pop_back();
  }
  return frame;
}

bool
starts_frame(const std::string& fragment)
{
  // SOI of JPEG / JPEG-LS (FF D8) or SOC of JPEG 2000 (FF 4F).
  return fragment.size() >= 2 && static_cast<unsigned char>(fragment[0]) == 0xFF
         && (static_cast<unsigned char>(fragment[1]) == 0xD8
             || static_cast<unsigned char>(fragment[1]) == 0x4F);
}

} // namespace

core::Result<std::string>
instance_json(const std::filesystem::path& file, const std::string& bulk_uri,
              const std::string& fallback)
{
  DcmFileFormat ff;
  if (auto r = load(ff, file); !r) {
    return r.error();
  }
  try {
    auto* ds = ff.getDataset();
    decode_to_utf8(*ds, fallback);
    BulkFormat format(bulk_uri);
    std::ostringstream out;
    out << '{'; // DcmDataset::writeJson writes the members only
    const auto cond = ds->writeJson(out, format);
    out << '}';
    if (cond.bad()) {
      return core::make_error(Errc::malformed, file.filename().string() + ": " + cond.text());
    }
    return out.str();
  } catch (const std::exception& e) {
    return core::make_error(Errc::malformed, file.filename().string() + ": " + e.what());
  }
}

core::Result<Frames>
read_frames(const std::filesystem::path& file, const std::vector<long>& numbers)
{
  DcmFileFormat ff;
  if (auto r = load(ff, file); !r) {
    return r.error();
  }
  auto* ds = ff.getDataset();
  const E_TransferSyntax xfer = ds->getOriginalXfer();
  const DcmXfer x(xfer);
  Frames out;
  out.transfer_syntax = x.getXferID();
  out.encapsulated = x.isEncapsulated();
  DcmElement* element = nullptr;
  if (ds->findAndGetElement(DCM_PixelData, element).bad() || element == nullptr) {
    return core::make_error(Errc::malformed, "the instance has no Pixel Data");
  }
  auto* pixels = dynamic_cast<DcmPixelData*>(element);
  Sint32 count = 1;
  ds->findAndGetSint32(DCM_NumberOfFrames, count);
  if (count < 1) {
    count = 1;
  }
  std::vector<long> all;
  if (numbers.empty()) {
    for (long n = 1; n <= count; ++n) {
      all.push_back(n);
    }
  }
  const auto& wanted = numbers.empty() ? all : numbers;
  for (const long n : wanted) {
    if (n < 1 || n > count) {
      return core::make_error(std::make_error_code(std::errc::result_out_of_range),
                              "frame " + std::to_string(n) + " of " + std::to_string(count));
    }
  }
  if (!out.encapsulated) {
    Uint16 rows = 0;
    Uint16 columns = 0;
    Uint16 samples = 1;
    Uint16 bits = 0;
    ds->findAndGetUint16(DCM_Rows, rows);
    ds->findAndGetUint16(DCM_Columns, columns);
    ds->findAndGetUint16(DCM_SamplesPerPixel, samples);
    ds->findAndGetUint16(DCM_BitsAllocated, bits);
    if (bits == 0 || bits % 8 != 0) {
      return core::make_error(Errc::malformed, "BitsAllocated " + std::to_string(bits)
                                                   + ": frames are not whole bytes");
    }
    const std::uint64_t frame_size =
        std::uint64_t(rows) * columns * (samples == 0 ? 1 : samples) * (bits / 8);
    const std::uint64_t length = element->getLength();
    if (frame_size == 0 || frame_size * static_cast<std::uint64_t>(count) > length) {
      return core::make_error(Errc::malformed, "Pixel Data is shorter than its frames");
    }
    const Uint8* bytes = nullptr;
    if (element->getVR() == EVR_OW) {
      Uint16* words = nullptr;
      if (element->getUint16Array(words).bad() || words == nullptr) {
        return core::make_error(Errc::malformed, "Pixel Data cannot be read");
      }
      bytes = reinterpret_cast<const Uint8*>(words); // host order: little endian here
    } else {
      Uint8* b = nullptr;
      if (element->getUint8Array(b).bad() || b == nullptr) {
        return core::make_error(Errc::malformed, "Pixel Data cannot be read");
      }
      bytes = b;
    }
    for (const long n : wanted) {
      out.data.emplace_back(reinterpret_cast<const char*>(bytes) + (n - 1) * frame_size,
                            frame_size);
    }
    return out;
  }

  DcmPixelSequence* sequence = nullptr;
  if (pixels == nullptr || pixels->getEncapsulatedRepresentation(xfer, nullptr, sequence).bad()
      || sequence == nullptr || sequence->card() < 2) {
    return core::make_error(Errc::malformed, "encapsulated Pixel Data has no fragments");
  }
  std::vector<std::string> fragments;
  std::vector<std::uint64_t> positions; // offset of each fragment's item from the first
  std::uint64_t position = 0;
  std::vector<Uint32> offsets;
  for (unsigned long i = 0; i < sequence->card(); ++i) {
    DcmPixelItem* item = nullptr;
    Uint8* data = nullptr;
    if (sequence->getItem(item, i).bad() || item == nullptr) {
      return core::make_error(Errc::malformed, "a Pixel Data fragment cannot be read");
    }
    const Uint32 size = item->getLength();
    if (size > 0 && (item->getUint8Array(data).bad() || data == nullptr)) {
      return core::make_error(Errc::malformed, "a Pixel Data fragment cannot be read");
    }
    if (i == 0) { // Basic Offset Table (PS3.5 A.4)
      for (Uint32 k = 0; k + 4 <= size; k += 4) {
        offsets.push_back(Uint32(data[k]) | Uint32(data[k + 1]) << 8 | Uint32(data[k + 2]) << 16
                          | Uint32(data[k + 3]) << 24);
      }
      continue;
    }
    fragments.emplace_back(reinterpret_cast<const char*>(data), size);
    positions.push_back(position);
    position += 8 + size;
  }
  std::vector<std::string> frames;
  if (count == 1) {
    std::string joined;
    for (const auto& f : fragments) {
      joined += f;
    }
    frames.push_back(std::move(joined));
  } else if (offsets.size() == static_cast<std::size_t>(count)) {
    frames.resize(static_cast<std::size_t>(count));
    std::size_t frame = 0;
    for (std::size_t i = 0; i < fragments.size(); ++i) {
      while (frame + 1 < offsets.size() && positions[i] >= offsets[frame + 1]) {
        ++frame;
      }
      frames[frame] += fragments[i];
    }
  } else if (fragments.size() == static_cast<std::size_t>(count)) {
    frames = fragments;
  } else {
    // No offset table and more fragments than frames: a frame starts at a
    // fragment that begins with a start-of-image marker.
    for (const auto& f : fragments) {
      if (frames.empty() || starts_frame(f)) {
        frames.push_back(f);
      } else {
        frames.back() += f;
      }
    }
    if (frames.size() != static_cast<std::size_t>(count)) {
      return core::make_error(Errc::malformed, "the frames of the Pixel Data cannot be told apart");
    }
  }
  for (const long n : wanted) {
    out.data.push_back(clean_frame(frames[static_cast<std::size_t>(n - 1)], out.transfer_syntax));
  }
  return out;
}

core::Result<void>
write_in_syntax(const std::filesystem::path& file, const std::string& transfer_syntax,
                const std::filesystem::path& out)
{
  auto ff = load_for_sending(file, transfer_syntax);
  if (!ff) {
    return ff.error();
  }
  const E_TransferSyntax xfer = DcmXfer(transfer_syntax.c_str()).getXfer();
  const OFCondition cond = (*ff)->saveFile(out.c_str(), xfer, EET_ExplicitLength, EGL_recalcGL,
                                           EPD_noChange, 0, 0, EWM_updateMeta);
  if (cond.bad()) {
    std::error_code ec;
    std::filesystem::remove(out, ec);
    return core::make_error(Errc::write_failed, out.string() + " (" + cond.text() + ")");
  }
  return {};
}

} // namespace dicom
