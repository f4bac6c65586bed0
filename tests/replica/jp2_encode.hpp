// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

// JPEG 2000 encoding of native pixels with OpenJPEG, for the replica's
// imageservice j2k route (platforms.md 3.1.5).
namespace replica {

struct PixelLayout
{
  std::uint32_t rows = 0;
  std::uint32_t columns = 0;
  std::uint32_t samples = 1; // SamplesPerPixel
  std::uint32_t bits_allocated = 16;
  std::uint32_t bits_stored = 16;
  bool is_signed = false; // PixelRepresentation 1
  bool planar = false;    // PlanarConfiguration 1 (colour by plane)

  std::size_t bytes_per_sample() const { return (bits_allocated + 7) / 8; }
  std::size_t frame_bytes() const
  {
    return std::size_t{rows} * columns * samples * bytes_per_sample();
  }
};

struct EncodeOptions
{
  bool jp2 = true;           // JP2 file (signature, ftyp, jp2h, jp2c); false: bare codestream
  bool irreversible = false; // 9/7 wavelet (lossy) instead of the reversible 5/3
};

// Encode one frame of little-endian native samples (`native` holds at least
// layout.frame_bytes()). The precision is BitsStored when every sample fits
// it, else BitsAllocated, so the round trip is always exact for 5/3.
// Throws std::runtime_error when OpenJPEG refuses.
std::string encode_jpeg2000(std::string_view native, const PixelLayout& layout,
                            const EncodeOptions& options);

} // namespace replica
