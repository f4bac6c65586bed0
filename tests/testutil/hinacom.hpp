// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <dicom/reassemble.hpp>

#include <filesystem>
#include <string>
#include <vector>

// What a "split DICOM" viewer (Hinacom, platforms.md 3.1.5) sends for a real
// file, made from pydicom's test files: the tag list and the pixel bodies.
namespace testutil {

// The top-level elements of `file` (meta header included) as
// GetImageDicomTags renders them: text decoded to UTF-8 and trimmed, numbers
// as decimal text joined by '\', binary values as DCMTK's hex text; Pixel
// Data and sequences left out.
std::vector<dicom::TextTag> render_tags(const std::filesystem::path& file);

// `tags` as the GetImageDicomTags JSON array ({"tag": "GGGG,EEEE", "name",
// "value"}).
std::string tags_json(const std::vector<dicom::TextTag>& tags);

// The uncompressed pixels of `file` (decoded if needed), exactly Rows x
// Columns x Samples x BitsAllocated/8 x Frames bytes, little endian.
std::string native_pixels(const std::filesystem::path& file);

struct J2kOptions
{
  bool jp2 = false;       // a JP2 file (signature, ftyp, jp2h, jp2c) instead of a codestream
  bool reversible = true; // 5/3 lossless, else 9/7 at about 1:8
};

// The pixels of single-frame `file` encoded with OpenJPEG (with the colour
// transform for 3 samples).
std::string encode_jpeg2000(const std::filesystem::path& file, const J2kOptions& options);

} // namespace testutil
