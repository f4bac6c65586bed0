// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include <openjpeg.h>

// Internal to dicom/: decoding a JPEG 2000 codestream (or JP2 file) held in
// memory with OpenJPEG, shared by the DcmCodec and the reassembly check.
namespace dicom::openjpeg {

struct ImageDeleter
{
  void operator()(opj_image_t* image) const
  {
    opj_image_destroy(image);
  }
};
using Image = std::unique_ptr<opj_image_t, ImageDeleter>;

// Decode `size` bytes at `data` completely: a JP2 file when it starts with
// the JP2 signature box, else a raw codestream. On failure returns nullptr
// and sets `error` to OpenJPEG's first complaints ("corrupt data" if it
// gave none). Thread-safe (no shared state).
// `expected` is what the dataset declares (Columns, Rows, SamplesPerPixel):
// a header that disagrees is refused before OpenJPEG allocates the image,
// since a 300-byte codestream can declare a 64K x 64K image (found by
// fuzzing). Without it, sizes beyond DICOM's 16-bit Rows/Columns are refused.
struct Expected
{
  std::uint32_t width = 0;
  std::uint32_t height = 0;
  std::uint32_t components = 0;
};
Image decode(const std::uint8_t* data, std::size_t size, std::string& error,
             const Expected* expected = nullptr);

// True if `data` starts with the JP2 signature box (ISO/IEC 15444-1 I.5.1).
bool is_jp2(const std::uint8_t* data, std::size_t size);

} // namespace dicom::openjpeg
