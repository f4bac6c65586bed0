// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <core/result.hpp>

#include <atomic>
#include <filesystem>
#include <string>

namespace store {

// The folder layout under the store root:
//   objects/ab/<hash>.dcm      instances, named from a SHA-256 of the SOP
//                              Instance UID (never from patient data)
//   spool/<pid>-<n>/           one folder per live process for incoming files,
//                              guarded by an flock()ed ".lock" file
//   run/<pid>.lock             held while a process has the store open; a
//                              stale one means that process crashed
//   index.sqlite               the index
// Thread-safe.
class FileStore
{
public:
  // Create the folders, take this process's spool and run locks. Removes
  // spool folders of processes that are gone. `crashed_before` tells whether
  // a previous process left without closing the store.
  // `sync`: fsync files and folders (see store::Options::sync).
  static core::Result<std::unique_ptr<FileStore>> open(const std::filesystem::path& root,
                                                       bool sync);
  ~FileStore();

  const std::filesystem::path& root() const { return m_root; }
  bool sync() const { return m_sync; }
  bool crashed_before() const { return m_crashed_before; }

  // "objects/ab/<hash>.dcm" for `sop_uid`.
  static std::string relative_path_for(const std::string& sop_uid);

  std::filesystem::path absolute(const std::string& relative) const { return m_root / relative; }

  // A fresh, unused file name in this process's spool folder.
  std::filesystem::path spool_path();

  // Create the parent folders of `file` and make their creation durable.
  core::Result<void> ensure_parent(const std::filesystem::path& file);

  // How many other live processes have the store open now.
  int other_live_processes() const;

  // Mark the store as closed cleanly (removes our run lock).
  void close_cleanly();

private:
  FileStore() = default;

  std::filesystem::path m_root;
  std::filesystem::path m_spool;
  std::filesystem::path m_run_lock;
  int m_spool_lock_fd = -1;
  int m_run_lock_fd = -1;
  bool m_crashed_before = false;
  bool m_sync = true;
  std::atomic<unsigned long> m_counter{0};
};

} // namespace store
