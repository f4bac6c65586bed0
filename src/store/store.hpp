// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "file_store.hpp"
#include "index.hpp"
#include "ingest.hpp"

#include <memory>
#include <shared_mutex>

namespace store {

enum class DuplicatePolicy { keep_first, replace, reject };

struct Options
{
  std::filesystem::path root;
  DuplicatePolicy duplicates = DuplicatePolicy::keep_first;
  std::string fallback_charset = "GB18030";
  // fsync each file and its folder before acknowledging it, so an
  // acknowledged instance survives a power loss or kernel crash. Without
  // it, it survives a process crash (kill -9) only.
  bool sync = true;
  // Limits, like Orthanc's MaximumStorageSize / MaximumPatientCount (0: none).
  std::uint64_t max_bytes = 0;
  long max_studies = 0;
  // When a limit would be passed: recycle the least recently stored
  // unprotected studies, or refuse the new instance (limit_reached).
  bool recycle = false;
  // Always refused (limit_reached) when the file system would keep less
  // free space than this, recycling or not: a full disk loses data.
  std::uint64_t min_free_bytes = 256ull << 20;
};

// What check() found (and repaired, if asked).
struct CheckReport
{
  long files = 0;                    // instance files under objects/
  long indexed = 0;                  // instances in the index
  long orphan_files = 0;             // file without index row (indexed on repair)
  long missing_files = 0;            // index row without file (row removed on repair)
  long unreadable_files = 0;         // file that does not parse (quarantined on repair)
  long misplaced_files = 0;          // file whose name does not match its SOP UID
  long counter_errors = 0;           // wrong NumberOf* counters (recomputed on repair)
  std::vector<std::string> problems; // one line each; UIDs and paths only

  bool clean() const
  {
    return orphan_files == 0 && missing_files == 0 && unreadable_files == 0 && misplaced_files == 0
           && counter_errors == 0;
  }
};

// The file store plus its index: implements the single ingest path. An
// acknowledged instance (ingest() succeeded) is durable: its file was fsynced
// and renamed into place before the index row was written, and a crash before
// the row is repaired at the next open(). Thread-safe.
class Store final : public IngestSink
{
public:
  // Open the store under `options.root`. If a previous process crashed,
  // runs check(repair = true) first and logs what it fixed.
  static core::Result<std::unique_ptr<Store>> open(const Options& options);
  // The same with an index of the caller's (tests wrap the SQLite index to
  // make it fail).
  static core::Result<std::unique_ptr<Store>> open(const Options& options,
                                                   std::unique_ptr<Index> index);
  ~Store() override;

  std::filesystem::path spool_path() override;
  core::Result<Ingested> ingest(const std::filesystem::path& file, const Origin& origin,
                                const Claimed& claimed = {}) override;
  bool contains(const std::string& sop_instance_uid) override;
  std::filesystem::path stored_file(const std::string& sop_instance_uid) override;

  // Delete a study, series or instance: files and index together (PS3.4 has
  // no rule; a PACS user expects nothing orphaned). The index rows go in one
  // transaction that leaves a tombstone per instance, then the files are
  // unlinked and the tombstones cleared; an interrupted delete is finished
  // at the next open(). Ingests wait while a delete runs, so an instance
  // stored again meanwhile is never acknowledged and then unlinked. Returns
  // the number of instances deleted (0: nothing matched).
  core::Result<std::size_t> remove(Level level, const std::string& uid);

  // Protect a study from recycling (or not). False if there is no such study.
  core::Result<bool> protect(const std::string& study_uid, bool on);

  // Compare files and index; with `repair`, make them agree again.
  core::Result<CheckReport> check(bool repair);

  Index& index() { return *m_index; }
  Query& query() { return *m_index; }
  const FileStore& files() const { return *m_files; }
  const std::filesystem::path& root() const { return m_files->root(); }

private:
  Store(const Options& options, std::unique_ptr<FileStore> files, std::unique_ptr<Index> index);

  static core::Result<std::unique_ptr<Store>>
  open(const Options& options, std::unique_ptr<FileStore> files, std::unique_ptr<Index> index);

  core::Result<Ingested> ingest_checked(const std::filesystem::path& file, const Origin& origin,
                                        const dicom::InstanceInfo& info);
  core::Result<Ingested> replace_checked(const std::filesystem::path& file, const Origin& origin,
                                         const dicom::InstanceInfo& info, Ingested out);

  // Enforce the limits before a new instance of `bytes` for `study_uid`.
  core::Result<void> make_room(std::uint64_t bytes, const std::string& study_uid);

  // Unlink the files of `gone` and clear their tombstones; files of SOP
  // Instance UIDs indexed again are kept.
  core::Result<void> finish_remove(const std::vector<Tombstone>& gone);

  Options m_options;
  std::unique_ptr<FileStore> m_files;
  std::unique_ptr<Index> m_index;
  std::shared_mutex m_remove_mutex; // ingest: shared; remove: exclusive
};

} // namespace store
