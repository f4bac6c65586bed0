// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "job.hpp"

#include <core/result.hpp>
#include <http/client.hpp>

#include <functional>
#include <string>
#include <string_view>

// Shared by the modules of platforms that serve whole Part 10 files.
namespace source {

// An HTTP status of a platform call as one of the shared errors
// (platforms.md 8.2): 404/410 link_expired, 401/403 auth_rejected; other
// errors unchanged.
core::Error status_error(const core::Error& error);

// "DICM" at offset 128 (PS3.10 7.1).
bool looks_like_dicom(std::string_view body);

// "JPEG", "PNG", "PDF" or "picture" when `body` is one (the screenshots and
// reports platforms list among the images), else nullptr.
const char* picture_kind(std::string_view body);

// Write `data` to `file` (created or truncated, mode 0600), checking
// every write and the close. A full disk keeps its errno (ENOSPC/EDQUOT,
// core::fs::is_disk_full), so it is not later mistaken for a cut download.
core::Result<void> write_file(const std::filesystem::path& file, std::string_view data);

// Download one listed file with `send` and deliver it as `name`. A picture
// is counted as skipped (not an error); anything else that is not DICOM is
// requested again expecting DICOM, so the client's retries apply to HTML
// error pages and cut bodies. Failures are counted on `job` with `what` and
// the error mapped by `map_error`; the store's own parse checks the file.
void
fetch_whole_file(const std::function<core::Result<http::Response>(http::Expect)>& send,
                 store::IngestSink& sink, Job& job, const std::string& what, const ExportName& name,
                 const std::function<core::Error(const core::Error&)>& map_error = status_error);

} // namespace source
