// SPDX-License-Identifier: GPL-3.0-or-later
#include "file_store.hpp"

#include "errors.hpp"

#include <core/fs.hpp>
#include <core/log.hpp>
#include <core/strings.hpp>

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>

namespace store {

namespace {

namespace fs = std::filesystem;

core::Error
io_error(const fs::path& path, int err = errno)
{
  return core::make_error(std::error_code(err, std::system_category()), path.string());
}

// Open and flock() `file` exclusively without waiting. -1 with errno set on
// failure; EWOULDBLOCK means another live process holds it.
int
lock_file(const fs::path& file)
{
  const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return -1;
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd);
    errno = err;
    return -1;
  }
  return fd;
}

// True if no live process holds `lock` (we could take it).
bool
is_stale(const fs::path& lock)
{
  const int fd = lock_file(lock);
  if (fd < 0) {
    return errno != EWOULDBLOCK;
  }
  ::close(fd);
  return true;
}

} // namespace

core::Result<std::unique_ptr<FileStore>>
FileStore::open(const fs::path& root, bool sync)
{
  std::unique_ptr<FileStore> store(new FileStore);
  store->m_root = root;
  store->m_sync = sync;
  // A new store root is for its owner only: it holds patient data (S8).
  std::error_code exists_ec;
  if (!fs::exists(root, exists_ec)) {
    if (auto r = core::fs::make_dirs(root); !r) {
      return r.error();
    }
    fs::permissions(root, fs::perms::owner_all, exists_ec);
  }
  for (const auto* sub : {"objects", "spool", "run"}) {
    if (auto r = core::fs::make_dirs(root / sub); !r) {
      return r.error();
    }
  }

  // Other processes' run locks: stale ones mean a crash (kill -9, power loss).
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root / "run", ec)) {
    if (entry.path().extension() == ".lock" && is_stale(entry.path())) {
      store->m_crashed_before = true;
      fs::remove(entry.path(), ec);
    }
  }
  store->m_run_lock = root / "run" / (std::to_string(::getpid()) + ".lock");
  store->m_run_lock_fd = lock_file(store->m_run_lock);
  if (store->m_run_lock_fd < 0) {
    return io_error(store->m_run_lock);
  }

  // Spool folders of dead processes hold only unacknowledged partial data.
  for (const auto& entry : fs::directory_iterator(root / "spool", ec)) {
    if (!entry.is_directory()) {
      // Never created by us; leftovers of an older layout or a manual copy.
      std::error_code rm_ec;
      fs::remove(entry.path(), rm_ec);
      continue;
    }
    if (is_stale(entry.path() / ".lock")) {
      std::error_code rm_ec;
      const auto n = fs::remove_all(entry.path(), rm_ec);
      if (n > 1) {
        CF_LOG(info, "store",
               "removed " << n - 1 << " unfinished spool files of an earlier process");
      }
    }
  }
  static std::atomic<unsigned> s_instance{0};
  store->m_spool =
      root / "spool" / (std::to_string(::getpid()) + "-" + std::to_string(s_instance++));
  if (auto r = core::fs::make_dirs(store->m_spool); !r) {
    return r.error();
  }
  store->m_spool_lock_fd = lock_file(store->m_spool / ".lock");
  if (store->m_spool_lock_fd < 0) {
    return io_error(store->m_spool / ".lock");
  }
  return store;
}

FileStore::~FileStore()
{
  std::error_code ec;
  if (m_spool_lock_fd >= 0) {
    fs::remove_all(m_spool, ec);
    ::close(m_spool_lock_fd);
  }
  if (m_run_lock_fd >= 0) {
    ::close(m_run_lock_fd);
  }
}

void
FileStore::close_cleanly()
{
  std::error_code ec;
  fs::remove(m_run_lock, ec);
}

std::string
FileStore::relative_path_for(const std::string& sop_uid)
{
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(sop_uid.data(), sop_uid.size(), digest, &size, EVP_sha256(), nullptr);
  const auto hex = core::to_hex(digest, 20); // 160 bits: collisions are not a concern
  // 256 folders: ~4,000 files each at a million instances (ext4 indexes
  // directories), and new folders, which cost extra fsyncs, stop early.
  return "objects/" + hex.substr(0, 2) + "/" + hex + ".dcm";
}

fs::path
FileStore::spool_path()
{
  return m_spool / (std::to_string(m_counter++) + ".part");
}

core::Result<void>
FileStore::ensure_parent(const fs::path& file)
{
  const auto dir = file.parent_path();
  std::error_code ec;
  if (fs::is_directory(dir, ec)) {
    return {};
  }
  // objects/ab: create it and fsync objects/ so the new entry survives a
  // crash before the file's own link is made durable.
  if (auto r = core::fs::make_dirs(dir); !r) {
    return r;
  }
  return m_sync ? core::fs::sync_dir(dir.parent_path()) : core::Result<void>();
}

int
FileStore::other_live_processes() const
{
  int n = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(m_root / "run", ec)) {
    if (entry.path().extension() == ".lock" && entry.path() != m_run_lock
        && !is_stale(entry.path())) {
      ++n;
    }
  }
  return n;
}

} // namespace store
