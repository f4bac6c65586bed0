// SPDX-License-Identifier: GPL-3.0-or-later
// What DICOMweb serves from a stored instance, read with DCMTK: its
// metadata as DICOM JSON (PS3.18 Annex F), its frames as PS3.18 8.7.3.3
// wants them, and the file converted to another transfer syntax.
#pragma once

#include <core/result.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace dicom {

// The dataset of `file` as one DICOM JSON object, text decoded to UTF-8
// (`fallback` for text without a usable SpecificCharacterSet, which is then
// "ISO_IR 192"). Pixel Data (and Float/Double Float Pixel Data) become a
// BulkDataURI `bulk_uri`; other binary values are InlineBinary. Errors:
// dicom::Errc::not_dicom / malformed.
core::Result<std::string> instance_json(const std::filesystem::path& file,
                                        const std::string& bulk_uri, const std::string& fallback);

struct Frames
{
  std::string transfer_syntax; // of the stored file
  bool encapsulated = false;
  std::vector<std::string> data; // one per requested frame, in request order
};

// Frames `numbers` (1-based; empty: all) of `file`. Native: each frame's bytes (little
// endian). Encapsulated: each frame's compressed octets without fragment
// delimiters, a JPEG 2000 frame as a bare codestream (8.7.3.3.2 note 2).
// Errors: dicom::Errc::malformed (no pixel data, frames that cannot be told
// apart), std::errc::result_out_of_range (a frame number past the last).
core::Result<Frames> read_frames(const std::filesystem::path& file,
                                 const std::vector<long>& numbers);

// `file` converted to `transfer_syntax` (through load_for_sending),
// written as a new Part 10 file `out`. Errors as load_for_sending, and
// write_failed.
core::Result<void> write_in_syntax(const std::filesystem::path& file,
                                   const std::string& transfer_syntax,
                                   const std::filesystem::path& out);

} // namespace dicom
