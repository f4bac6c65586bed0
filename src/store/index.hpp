// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "ingest.hpp"
#include "query.hpp"

#include <dicom/instance_info.hpp>

#include <functional>
#include <memory>

// The patient/study/series/instance index. An interface, so a PostgreSQL
// index can replace SQLite for sites that outgrow one machine.
namespace store {

struct StoredFile
{
  std::string relative_path; // under the store root, '/'-separated
  std::uint64_t size = 0;
};

enum class AddOutcome { added, already_indexed };

// What the store holds, for storage limits.
struct Usage
{
  std::uint64_t bytes = 0;
  long studies = 0;
};

// An instance removed from the index whose file is still to be unlinked.
struct Tombstone
{
  std::string sop_uid;
  std::string relative_path;
};

// Thread-safe. Errors are store::Errc::index_failed with the database's text.
class Index : public Query
{
public:
  // Index one instance; patient, study and series rows are created from its
  // attributes when new (first instance wins). already_indexed if the SOP
  // Instance UID is present (nothing changes).
  virtual core::Result<AddOutcome> add(const dicom::InstanceInfo& info, const StoredFile& file,
                                       const Origin& origin) = 0;

  // Remove one instance, and its series, study and patient when they become
  // empty. False if it was not indexed.
  virtual core::Result<bool> remove(const std::string& sop_uid) = 0;

  // remove() then add() in one transaction: on failure the old row (if any)
  // is still there. True if an old row was replaced.
  virtual core::Result<bool> replace(const dicom::InstanceInfo& info, const StoredFile& file,
                                     const Origin& origin) = 0;

  // Deletion, step 1 (Store::remove): in one transaction, remove every
  // instance of the study, series or instance (`level`, `uid`), with series,
  // studies and patients that become empty, and record a tombstone for each.
  // Returns the tombstones (empty if nothing matched). Level::patient is
  // refused (bad_unique_key): a PatientID is not unique across issuers.
  virtual core::Result<std::vector<Tombstone>> remove_entity(Level level,
                                                             const std::string& uid) = 0;
  // Tombstones whose files may still exist (an interrupted delete).
  virtual core::Result<std::vector<Tombstone>> tombstones() = 0;
  // Deletion, step 3: the files are gone.
  virtual core::Result<void> clear_tombstones(const std::vector<std::string>& sop_uids) = 0;

  // Storage limits (Store::make_room).
  virtual core::Result<Usage> usage() = 0;
  // The least recently stored study that is not protected and not `except`.
  virtual core::Result<std::optional<std::string>>
  oldest_unprotected_study(const std::string& except) = 0;
  // Protect a study from recycling, or not. False if there is no such study.
  virtual core::Result<bool> set_protected(const std::string& study_uid, bool on) = 0;

  // Call `f(sop_uid, relative_path)` for every indexed instance.
  virtual core::Result<void>
  for_each_file(const std::function<void(const std::string&, const std::string&)>& f) = 0;

  // Cross-check the stored counters against the rows; repair if asked.
  // Returns the number of entities whose counters were wrong.
  virtual core::Result<long> check_counters(bool repair) = 0;
};

// Open (creating if needed) the SQLite index at `file` (WAL mode); stored
// paths are relative to `root`.
core::Result<std::unique_ptr<Index>> open_sqlite_index(const std::filesystem::path& file,
                                                       const std::filesystem::path& root);

} // namespace store
