// SPDX-License-Identifier: GPL-3.0-or-later
// A study out of the store as a zip with a DICOMDIR (PS3.10 8, PS3.11
// General Purpose profile), so that a CD viewer or RadiAnt opens it:
// DICOMDIR at the top, the instances as DICOM/Snnnn/Innnnn. Streamed: the
// zip is written piece by piece, never held whole.
#pragma once

#include <core/result.hpp>
#include <store/ingest.hpp>
#include <store/query.hpp>

#include <functional>
#include <string>

namespace media {

// Write the zip of `study_uid` through `write` (false: stop, the reader has
// gone). Entries are stored, not deflated (DICOM pixel data hardly shrinks);
// libarchive adds ZIP64 records when a study passes 4 GiB. Errors:
// store::Errc::not_found, dicom::Errc (DICOMDIR), std::errc::io_error.
core::Result<void> export_zip(store::Query& query, store::IngestSink& store,
                              const std::string& study_uid,
                              const std::function<bool(std::string)>& write);

// The same into `file`, written beside it and renamed into place when whole.
core::Result<void> export_zip_file(store::Query& query, store::IngestSink& store,
                                   const std::string& study_uid, const std::filesystem::path& file);

} // namespace media
