// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <core/result.hpp>

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

class DcmFileFormat; // dcmtk/dcmdata/dcfilefo.h

// Changing the transfer syntax of stored instances before they are sent
// (C-GET, C-MOVE, forwarding). Needs register_codecs() for anything but the
// uncompressed syntaxes. Thread-safe as long as each dataset stays on one
// thread.
namespace dicom {

// True if pixel data in transfer syntax `ts` can be turned into native
// (uncompressed) pixel data: uncompressed and deflated syntaxes always, an
// encapsulated one if a registered decoder handles it.
bool can_decode(std::string_view ts);

// True if native pixel data can be encoded into `ts` by a registered encoder
// (or `ts` is not encapsulated).
bool can_encode(std::string_view ts);

// The transfer syntax to send an instance stored in `stored_ts` with, given
// the syntaxes the peer `accepted` for its SOP class (one per accepted
// presentation context, PS3.8 9.3.3.2): `stored_ts` itself if accepted; else
// Explicit VR Little Endian, Implicit VR Little Endian, Explicit VR Big Endian
// or Deflated Explicit VR Little Endian, in that order, if `stored_ts` can be
// decoded; else, only if none of those was accepted, a lossless one we can
// encode (JPEG-LS Lossless, JPEG Lossless SV1, JPEG Lossless, RLE). Never a
// lossy one. Empty if the instance cannot be sent.
std::string choose_transfer_syntax(std::string_view stored_ts,
                                   const std::vector<std::string>& accepted);

// Load the Part 10 `file` and convert its dataset to `target_ts` (through
// native pixel data for compressed → compressed), keeping one representation
// and the SOP Instance UID; the meta header's TransferSyntaxUID is updated.
// Pixel data that needs no conversion stays on disk until read, so `file`
// must stay in place while the result is in use. Errors: not_dicom or
// malformed (cannot load), cannot_transcode (no codec, or the codec failed;
// the detail names both syntaxes), uid_mismatch (a codec changed the SOP
// Instance UID).
core::Result<std::unique_ptr<DcmFileFormat>> load_for_sending(const std::filesystem::path& file,
                                                              const std::string& target_ts);

} // namespace dicom
