// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <core/result.hpp>

#include <filesystem>

namespace dicom {

// True if `file` has the Part 10 preamble and "DICM" prefix (PS3.10 7.1).
bool has_part10_magic(const std::filesystem::path& file);

// Write `in` (a dataset with or without File Meta Information) to `out` as a
// Part 10 file in its own transfer syntax, creating the meta header. Used by
// import for media that lack one; received C-STORE data is never rewritten.
core::Result<void> write_as_part10(const std::filesystem::path& in,
                                   const std::filesystem::path& out);

// True if `file` is a DICOMDIR (Media Storage Directory, PS3.10 8.6).
bool is_dicomdir(const std::filesystem::path& file);

} // namespace dicom
