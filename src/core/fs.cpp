// SPDX-License-Identifier: GPL-3.0-or-later
#include "fs.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <random>

namespace core::fs {

namespace {

Error
errno_error(const std::filesystem::path& path, int err = errno)
{
  return make_error(std::error_code(err, std::system_category()), path.string());
}

Result<void>
sync_fd_path(const std::filesystem::path& path, int flags)
{
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) {
    return errno_error(path);
  }
  int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) {
    return errno_error(path, err);
  }
  return {};
}

} // namespace

Result<void>
sync_file(const std::filesystem::path& file)
{
  return sync_fd_path(file, O_RDONLY);
}

Result<void>
sync_dir(const std::filesystem::path& dir)
{
  return sync_fd_path(dir, O_RDONLY | O_DIRECTORY);
}

Result<void>
make_dirs(const std::filesystem::path& dir)
{
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return make_error(ec, dir.string());
  }
  return {};
}

Result<void>
write_atomic(const std::filesystem::path& target, std::string_view data)
{
  std::random_device rd;
  auto tmp = target;
  tmp += ".tmp" + std::to_string(rd());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    return errno_error(tmp);
  }
  std::size_t done = 0;
  while (done < data.size()) {
    const auto n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return errno_error(tmp, err);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return errno_error(tmp, err);
  }
  ::close(fd);
  if (::rename(tmp.c_str(), target.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return errno_error(target, err);
  }
  return sync_dir(target.parent_path().empty() ? "." : target.parent_path());
}

Result<void>
copy_new(const std::filesystem::path& from, const std::filesystem::path& to)
{
  const int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) {
    return errno_error(from);
  }
  const int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (out < 0) {
    const int err = errno;
    ::close(in);
    return errno_error(to, err);
  }
  char buf[1 << 16];
  Result<void> result;
  for (;;) {
    const auto n = ::read(in, buf, sizeof(buf));
    if (n == 0) {
      break;
    }
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      result = errno_error(from);
      break;
    }
    std::size_t done = 0;
    while (done < static_cast<std::size_t>(n)) {
      const auto w = ::write(out, buf + done, static_cast<std::size_t>(n) - done);
      if (w < 0) {
        if (errno == EINTR) {
          continue;
        }
        result = errno_error(to);
        break;
      }
      done += static_cast<std::size_t>(w);
    }
    if (!result) {
      break;
    }
  }
  ::close(in);
  ::close(out);
  if (!result) {
    ::unlink(to.c_str());
  }
  return result;
}

Result<bool>
move_no_replace(const std::filesystem::path& from, const std::filesystem::path& to)
{
  if (::link(from.c_str(), to.c_str()) != 0) {
    if (errno == EEXIST) {
      return false;
    }
    return errno_error(to);
  }
  ::unlink(from.c_str());
  return true;
}

Result<void>
move_replace(const std::filesystem::path& from, const std::filesystem::path& to)
{
  if (::rename(from.c_str(), to.c_str()) != 0) {
    return errno_error(to);
  }
  return {};
}

Result<std::uint64_t>
file_size(const std::filesystem::path& file)
{
  struct stat st
  {
  };
  if (::stat(file.c_str(), &st) != 0) {
    return errno_error(file);
  }
  return static_cast<std::uint64_t>(st.st_size);
}

bool
is_disk_full(const std::error_code& code)
{
  return code.category() == std::system_category()
         && (code.value() == ENOSPC || code.value() == EDQUOT);
}

} // namespace core::fs
