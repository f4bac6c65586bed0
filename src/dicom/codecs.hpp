// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// DCMTK's pixel codecs live in one process-wide list (DcmCodecList); every
// chooseRepresentation() call consults it.
namespace dicom {

// Register DCMTK's JPEG (dcmjpeg), JPEG-LS (dcmjpls) and RLE (dcmdata)
// decoders and encoders, and our OpenJPEG-based JPEG 2000 decoder. No codec is
// allowed to create a new SOP Instance UID. Call once from main() before any
// thread starts (DCMTK's registration flags are unguarded); a second call
// does nothing.
void register_codecs();

// Undo register_codecs(). Only after every thread that may transcode has
// finished.
void unregister_codecs();

} // namespace dicom
