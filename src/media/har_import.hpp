// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <core/result.hpp>
#include <store/ingest.hpp>

#include <filesystem>
#include <string>
#include <vector>

// Import from a browser capture (HAR, "record in a browser, extract DICOM
// afterwards", platforms.md 6): for viewers without an adapter, and for
// captures users already made.
namespace media {

struct HarSummary
{
  long entries = 0;        // log.entries read
  long dicom_found = 0;    // DICOM objects found in bodies, multipart parts, WebSocket frames
  long rebuilt = 0;        // Hinacom tag list + pixel pairs reassembled
  long duplicates = 0;     // copies of an instance that lost against a better one
  long imported = 0;       // newly stored
  long already_stored = 0; // in the store before (skipped, or a duplicate at ingest)
  long skipped = 0;        // DICOM-looking but unusable: text-mangled, truncated, no pair, ...
  long failed = 0;         // rebuild or ingest errors
  std::vector<std::string>
      notes; // one line per skip/failure; entry numbers and UIDs, no URLs' queries
};

// Stream the HAR file `har` (any size: a SAX parse over the file, memory
// bounded by the largest single body) and ingest every DICOM instance in it
// into `sink` with origin {source, "har"}:
// - response bodies recognised by content, base64 or not: Part 10, meta
//   header without preamble, bare data set; multipart/related parts
//   (DICOMweb); Chrome's binary `_webSocketMessages` (socket.io 0x04 byte
//   stripped). Bodies a browser saved as decoded text are unrecoverable and
//   counted as skipped;
// - Hinacom GetImageDicomTags JSON paired with the imageservice j2k/dicom
//   response of the same studyId/imageId (level /0/3 or /0/0 only), rebuilt
//   with dicom::reassemble;
// - one copy per SOP Instance UID: complete (parses to the end, pixel data
//   of the announced size) over truncated, an original over a rebuild, then
//   the larger, then the first; an instance found only truncated is skipped.
// Candidates wait in temp files in the sink's spool. Instances
// `sink.contains()` are not ingested again. Errors: the file cannot be read,
// or is not a HAR (media::Errc::not_a_capture); a HAR cut short is imported up
// to the cut and noted.
core::Result<HarSummary> import_har(const std::filesystem::path& har, store::IngestSink& sink);

} // namespace media
