// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// A decoder-only DCMTK codec (DcmCodec) for JPEG 2000 Image Compression
// (PS3.5 A.4.4: 1.2.840.10008.1.2.4.90 lossless only, .91 lossless or lossy),
// built on OpenJPEG; DCMTK 3.6.7 has none. Internal to dicom/: use
// register_codecs() and load_for_sending().
#include <dcmtk/config/osconfig.h>
#include <dcmtk/ofstd/ofcond.h>

#include <functional>

namespace dicom {

// Add the decoder to / remove it from DCMTK's global codec list. Called by
// register_codecs() and unregister_codecs(), from the main thread only.
void register_jpeg2000_decoder();
void unregister_jpeg2000_decoder();

namespace detail {
// Run a DcmCodec entry point's `body` so that no exception reaches DCMTK:
// bad_alloc becomes EC_MemoryExhausted, another exception a JPEG 2000
// failure condition. Declared here for the tests.
OFCondition guarded_codec_call(const std::function<OFCondition()>& body) noexcept;
} // namespace detail

} // namespace dicom
