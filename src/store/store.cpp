// SPDX-License-Identifier: GPL-3.0-or-later
#include "store.hpp"

#include "errors.hpp"

#include <core/fs.hpp>
#include <core/log.hpp>
#include <dicom/errors.hpp>

#include <algorithm>
#include <mutex>
#include <optional>

namespace store {

namespace {

namespace fs = std::filesystem;

core::Error
file_error(const core::Error& e)
{
  // Keep ENOSPC/EDQUOT recognisable as "disk full" for the DIMSE status.
  if (core::fs::is_disk_full(e.code)) {
    return core::make_error(Errc::disk_full, e.detail);
  }
  return core::make_error(Errc::io_failed, e.message());
}

} // namespace

Store::Store(const Options& options, std::unique_ptr<FileStore> files, std::unique_ptr<Index> index)
    : m_options(options), m_files(std::move(files)), m_index(std::move(index))
{
}

Store::~Store()
{
  m_index.reset(); // close the database before declaring a clean close
  m_files->close_cleanly();
}

core::Result<std::unique_ptr<Store>>
Store::open(const Options& options)
{
  auto files = FileStore::open(options.root, options.sync);
  if (!files) {
    return files.error();
  }
  auto index =
      open_sqlite_index(options.root / "index.sqlite", std::filesystem::absolute(options.root));
  if (!index) {
    return index.error();
  }
  return open(options, std::move(*files), std::move(*index));
}

core::Result<std::unique_ptr<Store>>
Store::open(const Options& options, std::unique_ptr<Index> index)
{
  auto files = FileStore::open(options.root, options.sync);
  if (!files) {
    return files.error();
  }
  return open(options, std::move(*files), std::move(index));
}

core::Result<std::unique_ptr<Store>>
Store::open(const Options& options, std::unique_ptr<FileStore> files, std::unique_ptr<Index> index)
{
  std::unique_ptr<Store> store(new Store(options, std::move(files), std::move(index)));
  // A delete interrupted by a crash or a failed unlink: finish it first.
  auto left = store->m_index->tombstones();
  if (!left) {
    return left.error();
  }
  if (!left->empty()) {
    CF_LOG(warn, "store", "finishing an interrupted delete of " << left->size() << " instances");
    if (auto r = store->finish_remove(*left); !r) {
      return r.error();
    }
  }
  if (store->m_files->crashed_before()) {
    CF_LOG(warn, "store", "previous process did not close the store; checking files against index");
    auto report = store->check(true);
    if (!report) {
      return report.error();
    }
    CF_LOG(warn, "store",
           "check: " << report->files << " files, " << report->orphan_files << " orphans indexed, "
                     << report->missing_files << " missing removed, " << report->unreadable_files
                     << " unreadable quarantined, " << report->counter_errors << " counters fixed");
  }
  return store;
}

fs::path
Store::spool_path()
{
  return m_files->spool_path();
}

bool
Store::contains(const std::string& sop_instance_uid)
{
  auto row = m_index->instance(sop_instance_uid);
  return row && row->has_value();
}

std::filesystem::path
Store::stored_file(const std::string& sop_instance_uid)
{
  auto row = m_index->instance(sop_instance_uid);
  if (!row || !row->has_value()) {
    return {};
  }
  return root() / (*row)->path;
}

core::Result<Ingested>
Store::ingest(const fs::path& file, const Origin& origin, const Claimed& claimed)
{
  dicom::ReadOptions read_options;
  read_options.fallback_charset = m_options.fallback_charset;
  auto info = dicom::read_instance_info(file, read_options);
  if (!info) {
    std::error_code ec;
    fs::remove(file, ec);
    return info.error();
  }
  // PS3.4 B.2.3: the dataset must be the instance the command announced.
  if (!claimed.sop_instance_uid.empty() && claimed.sop_instance_uid != info->sop_instance_uid) {
    std::error_code ec;
    fs::remove(file, ec);
    return core::make_error(dicom::Errc::uid_mismatch,
                            "Affected SOP Instance UID " + claimed.sop_instance_uid
                                + " != dataset SOP Instance UID " + info->sop_instance_uid);
  }
  if (!claimed.sop_class_uid.empty() && claimed.sop_class_uid != info->sop_class_uid) {
    std::error_code ec;
    fs::remove(file, ec);
    return core::make_error(dicom::Errc::uid_mismatch,
                            "Affected SOP Class UID " + claimed.sop_class_uid
                                + " != dataset SOP Class UID " + info->sop_class_uid);
  }
  const auto size = core::fs::file_size(file);
  if (auto room = make_room(size ? *size : 0, info->study_instance_uid); !room) {
    std::error_code ec;
    fs::remove(file, ec);
    return room.error();
  }
  std::shared_lock<std::shared_mutex> no_remove(m_remove_mutex);
  auto result = ingest_checked(file, origin, *info);
  if (!result) {
    std::error_code ec;
    fs::remove(file, ec);
  }
  return result;
}

core::Result<Ingested>
Store::ingest_checked(const fs::path& file, const Origin& origin, const dicom::InstanceInfo& info)
{
  Ingested out;
  out.sop_instance_uid = info.sop_instance_uid;
  out.study_instance_uid = info.study_instance_uid;
  out.series_instance_uid = info.series_instance_uid;
  out.modality = info.modality;
  out.charset_note = info.charset_note;

  const auto relative = FileStore::relative_path_for(info.sop_instance_uid);
  const auto target = m_files->absolute(relative);
  auto size = core::fs::file_size(file);
  if (!size) {
    return file_error(size.error());
  }
  // Durable before visible: data on disk first, then the name.
  if (m_options.sync) {
    if (auto r = core::fs::sync_file(file); !r) {
      return file_error(r.error());
    }
  }
  if (auto r = m_files->ensure_parent(target); !r) {
    return file_error(r.error());
  }

  if (m_options.duplicates == DuplicatePolicy::replace) {
    return replace_checked(file, origin, info, out);
  }
  auto moved = core::fs::move_no_replace(file, target);
  if (!moved) {
    return file_error(moved.error());
  }
  if (!*moved) {
    // Already stored. The first copy wins; make sure it is indexed (it may
    // be an orphan left by a crash between rename and index).
    std::error_code ec;
    fs::remove(file, ec);
    auto present = m_index->instance(info.sop_instance_uid);
    if (!present) {
      return present.error();
    }
    if (!present->has_value()) {
      dicom::ReadOptions read_options;
      read_options.fallback_charset = m_options.fallback_charset;
      auto first = dicom::read_instance_info(target, read_options);
      auto first_size = core::fs::file_size(target);
      if (first && first_size) {
        if (auto r = m_index->add(*first, {relative, *first_size}, origin); !r) {
          return r.error();
        }
      }
    }
    if (m_options.duplicates == DuplicatePolicy::reject) {
      return core::make_error(Errc::duplicate_rejected, info.sop_instance_uid);
    }
    out.duplicate = true;
    return out;
  }
  if (m_options.sync) {
    if (auto r = core::fs::sync_dir(target.parent_path()); !r) {
      return file_error(r.error());
    }
  }
  auto added = m_index->add(info, {relative, *size}, origin);
  if (!added) {
    // Keep files and index in agreement: the sender gets a failure and may
    // send again, so the unindexed file must not stay.
    std::error_code ec;
    fs::remove(target, ec);
    return added.error();
  }
  if (*added == AddOutcome::already_indexed) {
    // Row existed but the file did not (repaired by check); now it does.
    CF_LOG(warn, "store",
           "instance " << info.sop_instance_uid << " was indexed without its file; file restored");
  }
  return out;
}

// Policy replace. The old file moves to a side name first and comes back if
// anything fails, and the index swaps the rows in one transaction: a failed
// replace leaves the instance as it was stored before.
core::Result<Ingested>
Store::replace_checked(const fs::path& file, const Origin& origin, const dicom::InstanceInfo& info,
                       Ingested out)
{
  const auto relative = FileStore::relative_path_for(info.sop_instance_uid);
  const auto target = m_files->absolute(relative);
  auto size = core::fs::file_size(file);
  if (!size) {
    return file_error(size.error());
  }
  auto side = target;
  side += ".replaced";
  std::error_code ec;
  const bool had_file = fs::exists(target, ec);
  if (had_file) {
    if (auto r = core::fs::move_replace(target, side); !r) {
      return file_error(r.error());
    }
  }
  // Put the old file back (or clear the new one) after a failure.
  auto restore = [&] {
    if (had_file) {
      (void)core::fs::move_replace(side, target);
    } else {
      std::error_code ignored;
      fs::remove(target, ignored);
    }
    if (m_options.sync) {
      (void)core::fs::sync_dir(target.parent_path());
    }
  };
  if (auto r = core::fs::move_replace(file, target); !r) {
    restore();
    return file_error(r.error());
  }
  if (m_options.sync) {
    if (auto r = core::fs::sync_dir(target.parent_path()); !r) {
      restore();
      return file_error(r.error());
    }
  }
  auto replaced = m_index->replace(info, {relative, *size}, origin);
  if (!replaced) {
    restore();
    return replaced.error();
  }
  if (had_file) {
    fs::remove(side, ec);
  }
  out.replaced = *replaced;
  return out;
}

core::Result<std::size_t>
Store::remove(Level level, const std::string& uid)
{
  std::unique_lock<std::shared_mutex> exclusive(m_remove_mutex);
  auto gone = m_index->remove_entity(level, uid);
  if (!gone) {
    return gone.error();
  }
  if (auto r = finish_remove(*gone); !r) {
    // The index no longer lists them; the tombstones stay and the next
    // open() tries again.
    return r.error();
  }
  return gone->size();
}

core::Result<void>
Store::finish_remove(const std::vector<Tombstone>& gone)
{
  std::vector<std::string> cleared;
  std::vector<fs::path> folders;
  core::Result<void> failure;
  for (const auto& t : gone) {
    auto row = m_index->instance(t.sop_uid);
    if (!row) {
      return row.error();
    }
    if (!row->has_value()) {
      const auto file = m_files->absolute(t.relative_path);
      std::error_code ec;
      if (!fs::remove(file, ec) && ec) {
        failure = core::make_error(Errc::io_failed, t.relative_path + ": " + ec.message());
        continue;
      }
      folders.push_back(file.parent_path());
    }
    cleared.push_back(t.sop_uid);
  }
  if (m_options.sync) {
    std::sort(folders.begin(), folders.end());
    folders.erase(std::unique(folders.begin(), folders.end()), folders.end());
    for (const auto& folder : folders) {
      if (auto r = core::fs::sync_dir(folder); !r) {
        return file_error(r.error());
      }
    }
  }
  if (auto r = m_index->clear_tombstones(cleared); !r) {
    return r.error();
  }
  return failure;
}

core::Result<bool>
Store::protect(const std::string& study_uid, bool on)
{
  return m_index->set_protected(study_uid, on);
}

core::Result<void>
Store::make_room(std::uint64_t bytes, const std::string& study_uid)
{
  if (m_options.min_free_bytes > 0) {
    std::error_code ec;
    const auto space = fs::space(root(), ec);
    if (!ec && space.available < m_options.min_free_bytes + bytes) {
      return core::make_error(
          Errc::limit_reached,
          "less than " + std::to_string(m_options.min_free_bytes >> 20)
              + " MiB would stay free on the storage device (storage.min_free_mb); "
                "free disk space or delete studies");
    }
  }
  if (m_options.max_bytes == 0 && m_options.max_studies == 0) {
    return {};
  }
  // Whether the instance opens a new study: asked of the index only once the
  // study count is at the limit, not for every instance below it.
  std::optional<bool> new_study;
  for (;;) {
    auto usage = m_index->usage();
    if (!usage) {
      return usage.error();
    }
    const bool over_bytes = m_options.max_bytes > 0 && usage->bytes + bytes > m_options.max_bytes;
    bool over_studies = m_options.max_studies > 0 && usage->studies + 1 > m_options.max_studies;
    if (over_studies && !new_study) {
      auto series = m_index->series(study_uid);
      if (!series) {
        return series.error();
      }
      new_study = series->empty();
    }
    over_studies = over_studies && *new_study;
    if (!over_bytes && !over_studies) {
      return {};
    }
    const std::string which = over_bytes ? "storage.max_size_mb" : "storage.max_studies";
    if (!m_options.recycle) {
      return core::make_error(Errc::limit_reached,
                              which + " reached; delete studies or raise the limit");
    }
    auto victim = m_index->oldest_unprotected_study(study_uid);
    if (!victim) {
      return victim.error();
    }
    if (!victim->has_value()) {
      return core::make_error(Errc::limit_reached,
                              which + " reached and every other study is protected");
    }
    auto removed = remove(Level::study, **victim);
    if (!removed) {
      return removed.error();
    }
    CF_LOG(warn, "store",
           which << " reached: recycled study " << **victim << " (" << *removed
                 << " instances, least recently stored)");
  }
}

} // namespace store
