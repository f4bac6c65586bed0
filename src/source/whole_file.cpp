// SPDX-License-Identifier: GPL-3.0-or-later
#include "whole_file.hpp"

#include "source.hpp"

#include <http/content.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace source {

core::Result<void>
write_file(const std::filesystem::path& file, std::string_view data)
{
  const auto error = [&](int err) {
    // ENOSPC/EDQUOT stay the system's codes (core::fs::is_disk_full).
    return core::make_error(std::error_code(err, std::system_category()),
                            "cannot write " + file.string());
  };
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return error(errno);
  }
  const char* p = data.data();
  std::size_t left = data.size();
  while (left > 0) {
    const auto n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      const int err = errno;
      ::close(fd);
      return error(err);
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  // Some file systems (NFS, quotas) report ENOSPC only at close.
  if (::close(fd) != 0) {
    return error(errno);
  }
  return {};
}

core::Error
status_error(const core::Error& e)
{
  const auto has = [&](const char* status) {
    return e.code == http::Errc::http_status
           && e.detail.find(std::string("HTTP ") + status) != std::string::npos;
  };
  if (has("404") || has("410")) {
    return core::make_error(Errc::link_expired, e.detail);
  }
  if (has("401") || has("403")) {
    return core::make_error(Errc::auth_rejected, e.detail);
  }
  return e;
}

const char*
picture_kind(std::string_view body)
{
  if (body.compare(0, 3, "\xFF\xD8\xFF") == 0) {
    return "JPEG";
  }
  if (body.compare(0, 8, "\x89PNG\r\n\x1A\n") == 0) {
    return "PNG";
  }
  if (body.compare(0, 5, "%PDF-") == 0) {
    return "PDF";
  }
  if (body.compare(0, 3, "GIF") == 0 || body.compare(0, 2, "BM") == 0) {
    return "picture";
  }
  return nullptr;
}

void
fetch_whole_file(const std::function<core::Result<http::Response>(http::Expect)>& send,
                 store::IngestSink& sink, Job& job, const std::string& what, const ExportName& name,
                 const std::function<core::Error(const core::Error&)>& map_error)
{
  auto resp = send(http::Expect::any);
  if (resp && !http::is_part10(resp->body)) {
    if (const char* kind = picture_kind(resp->body)) {
      job.add_bytes(resp->body.size());
      job.skipped(what + ": not DICOM (" + kind + ")");
      return;
    }
    resp = send(http::Expect::dicom); // retried by the client, then an error
  }
  if (!resp) {
    job.failed(what + ": " + map_error(resp.error()).message());
    return;
  }
  job.add_bytes(resp->body.size());
  const auto spool = sink.spool_path();
  if (auto r = write_file(spool, resp->body); !r) {
    std::error_code ec;
    std::filesystem::remove(spool, ec);
    job.failed(what + ": " + r.error().message());
    return;
  }
  (void)job.deliver(spool, name);
}

} // namespace source
