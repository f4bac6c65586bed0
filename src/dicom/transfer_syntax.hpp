// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <string_view>

namespace dicom {

// True if DCMTK 3.6.7 can receive and parse a dataset in transfer syntax
// `uid` (its DIMSE getTransferSyntax() switch): uncompressed LE/BE, deflate,
// the JPEG family, JPEG-LS, RLE, JPEG 2000, MPEG-2/4 and HEVC. HTJ2K, JPEG XL
// and JPIP are unknown to it and must never be accepted in negotiation.
bool can_receive(std::string_view uid);

// True for encapsulated (compressed) transfer syntaxes.
bool is_encapsulated(std::string_view uid);

// Short human name ("JPEG-LS Lossless"), or the UID itself.
const char* transfer_syntax_name(std::string_view uid);

} // namespace dicom
