// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <store/ingest.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

// Import from local media: files, folders (recursively), zip archives and
// DICOMDIR trees, through the store's one ingest path.
namespace media {

struct ImportSummary
{
  long imported = 0;
  long duplicates = 0;
  long skipped = 0; // not DICOM (or a DICOMDIR, which is not an instance)
  long failed = 0;  // DICOM we could not store; see failures
  std::uint64_t bytes = 0;
  std::vector<std::string> failures; // "path: reason", no patient data
};

struct ImportProgress
{
  long done = 0;  // files looked at so far
  long total = 0; // files known so far (grows while zips are read)
  std::uint64_t bytes = 0;
  const ImportSummary* summary = nullptr;
};

using ProgressFn = std::function<void(const ImportProgress&)>;

// Limits against zip bombs: extraction goes to the spool, which lives on the
// store's file system, so an entry that inflates without end would fill it.
struct ImportOptions
{
  std::uint64_t max_entry_bytes = std::uint64_t(4) << 30; // one zip entry, inflated
  std::uint64_t max_zip_bytes = std::uint64_t(64) << 30;  // all entries of one zip
  // Stop extracting when the spool's file system has less free space.
  std::uint64_t min_free_bytes = std::uint64_t(1) << 30;
};

// Import every path. A DICOMDIR file imports the files it references; a
// folder is walked recursively (a DICOMDIR inside it is skipped, the files
// are found by the walk); a .zip is read entry by entry. Files without a
// Part 10 header are accepted when they parse as a dataset with SOP UIDs.
// Never throws; problems go into the summary.
ImportSummary import_paths(const std::vector<std::filesystem::path>& paths, store::IngestSink& sink,
                           const ProgressFn& progress = {}, const ImportOptions& options = {});

} // namespace media
