// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "jpeg2000_stream.hpp"

#include <core/result.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

// Faithful reassembly of a DICOM instance from what "split" cloud viewers
// send (platforms.md 3.1.6): the attributes as text without VRs, and the
// pixel data separately (native bytes or JPEG 2000, possibly JP2-wrapped).
namespace dicom {

struct TextTag
{
  std::uint16_t group = 0;
  std::uint16_t element = 0;
  std::string value; // as the platform renders it (UTF-8); '\' separates values
};

struct Reassembled
{
  std::string transfer_syntax_uid;  // 1.2.1 (native), 4.90 or 4.91 (JPEG 2000)
  std::vector<std::string> skipped; // "(gggg,eeee): reason" for elements left out
  bool lossy = false;               // irreversible JPEG 2000 (LossyImageCompression set)
};

// Build the Part 10 file `out` from `tags` and `pixels`:
// - VRs from DCMTK's dictionary (ambiguous US/SS by PixelRepresentation);
//   group 0002 into the file meta information; text VRs kept as text,
//   binary numbers converted, multi-values split on '\' (after the text is
//   UTF-8, so GB18030 0x5C cannot occur); values of binary VRs (OB/OW/UN),
//   SQ and unparsable numbers skipped and listed, never fatal;
// - private elements kept with their creator, as LO, or UT when longer than
//   LO's 64 characters (value verbatim, not split);
// - SpecificCharacterSet ISO_IR 192 (the text is Unicode);
// - pixels: a JP2 file or bare J2K codestream becomes encapsulated Pixel
//   Data holding only the codestream (PS3.5 A.4.4), 4.90 for the reversible
//   5/3 wavelet, 4.91 (and LossyImageCompression "01") for 9/7, verified to
//   decode with OpenJPEG to Rows x Columns x Samples x Frames; anything else
//   must be exactly Rows x Columns x BitsAllocated/8 x Samples x Frames
//   native bytes (Explicit VR Little Endian), else an error.
// Errors: dicom::Errc::missing_uid (SOP class/instance, study, series),
// malformed (pixel size or codestream mismatch), write_failed.
core::Result<Reassembled> reassemble(const std::vector<TextTag>& tags, std::string_view pixels,
                                     const std::filesystem::path& out);

} // namespace dicom
