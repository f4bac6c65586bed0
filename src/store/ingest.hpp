// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <core/result.hpp>

#include <filesystem>
#include <string>

// The one way into the store, used by the C-STORE handler, import and every
// cloud source. Only this header and query.hpp are visible outside store/.
namespace store {

struct Origin
{
  enum class Kind { dimse, source, import };
  Kind kind = Kind::import;
  std::string peer; // calling AE title, module name or import path
  // Also note the SOP UID in the index's `unqueued` table, in the same
  // transaction as its row. The forwarding queue deletes the note once the
  // instance is queued and queues what is left at the next start, so a
  // failure between storing and queueing loses no forward.
  bool mark_unqueued = false;
};

// What the sender claimed in the DIMSE command (PS3.7 9.1.1.1); checked
// against the dataset. Empty fields are not checked.
struct Claimed
{
  std::string sop_class_uid;
  std::string sop_instance_uid;
};

struct Ingested
{
  std::string sop_instance_uid;
  std::string study_instance_uid;
  std::string series_instance_uid;
  std::string modality;
  bool duplicate = false;   // already stored; the new copy was discarded
  bool replaced = false;    // already stored; replaced by the new copy (policy replace)
  std::string charset_note; // non-empty if text needed a charset fallback
};

// Thread-safe.
class IngestSink
{
public:
  virtual ~IngestSink() = default;

  // A fresh path in this process's spool folder, on the store's file system,
  // so ingest() can move by rename. Nothing is created yet.
  virtual std::filesystem::path spool_path() = 0;

  // Check that `file` is a Part 10 file with the required UIDs, make it
  // durable, move it into the file store and index it. Takes the file: it is
  // gone afterwards, on success and on failure. Only a success means the
  // instance is stored. Errors: dicom::Errc (not_dicom, malformed,
  // missing_uid, uid_mismatch), store::Errc (duplicate_rejected, disk_full,
  // io_failed, index_failed).
  virtual core::Result<Ingested> ingest(const std::filesystem::path& file, const Origin& origin,
                                        const Claimed& claimed = {}) = 0;

  // True if the SOP instance is already stored (sources skip it: resume).
  virtual bool contains(const std::string& sop_instance_uid) = 0;

  // The stored file of a SOP instance, or empty if it is not stored. The
  // file must only be read.
  virtual std::filesystem::path stored_file(const std::string& sop_instance_uid) = 0;
};

} // namespace store
