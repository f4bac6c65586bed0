// SPDX-License-Identifier: GPL-3.0-or-later
// Telling JPEG 2000 data apart: a JP2 file (ISO/IEC 15444-1 Annex I) or a
// bare codestream (Annex A), the only form PS3.5 A.4.4 allows in Pixel Data.
#pragma once

#include <string_view>

namespace dicom {

// Starts with the JP2 signature box.
bool is_jp2_file(std::string_view data);
// Starts with SOC and SIZ (FF 4F FF 51).
bool is_j2k_codestream(std::string_view data);

// The bare codestream inside a JP2 file (its jp2c box), or `data` itself
// when it is already one; empty if neither. Bounds-checked box walk.
std::string_view jpeg2000_codestream(std::string_view data);

} // namespace dicom
