// SPDX-License-Identifier: GPL-3.0-or-later
#include "import.hpp"

#include <core/fs.hpp>
#include <core/strings.hpp>
#include <dicom/dicomdir.hpp>
#include <dicom/errors.hpp>
#include <dicom/instance_info.hpp>
#include <dicom/part10.hpp>

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace media {

namespace {

namespace fs = std::filesystem;

bool
has_zip_magic(const fs::path& file)
{
  std::FILE* f = std::fopen(file.c_str(), "rb");
  if (f == nullptr) {
    return false;
  }
  unsigned char buf[4] = {};
  const auto n = std::fread(buf, 1, 4, f);
  std::fclose(f);
  return n == 4 && buf[0] == 'P' && buf[1] == 'K' && buf[2] == 3 && buf[3] == 4;
}

// PS3.10 8.2 (8.5 in older editions): a File ID component is at most 8
// characters of A-Z, 0-9 and '_'. Real media break the length and case
// rules, so only what could leave the medium's folder is refused.
bool
safe_component(const std::string& c)
{
  return !c.empty() && c != "." && c != ".." && c.find('/') == std::string::npos
         && c.find('\0') == std::string::npos;
}

// True if `path` lies under `folder` once both are made canonical (symbolic
// links resolved).
bool
inside(const fs::path& folder, const fs::path& path)
{
  std::error_code ec;
  const auto root = fs::weakly_canonical(folder, ec);
  if (ec) {
    return false;
  }
  const auto target = fs::weakly_canonical(path, ec);
  if (ec) {
    return false;
  }
  const auto rel = target.lexically_relative(root);
  return !rel.empty() && *rel.begin() != "..";
}

// Find `components` under `base` case-insensitively: DICOMDIR file IDs are
// upper-case ISO 9660 names, often copied onto case-sensitive disks lower-case.
// Nothing outside `base` is returned: a crafted DICOMDIR must not make import
// read (and then serve) other files of the user.
std::optional<fs::path>
resolve_file_id(const fs::path& base, const std::vector<std::string>& components)
{
  if (components.empty()) {
    return std::nullopt;
  }
  for (const auto& c : components) {
    if (!safe_component(c)) {
      return std::nullopt;
    }
  }
  fs::path current = base;
  for (const auto& c : components) {
    const auto exact = current / c;
    std::error_code ec;
    if (fs::exists(exact, ec)) {
      current = exact;
      continue;
    }
    bool found = false;
    for (const auto& entry : fs::directory_iterator(current, ec)) {
      if (core::to_upper_ascii(entry.path().filename().string()) == core::to_upper_ascii(c)) {
        current = entry.path();
        found = true;
        break;
      }
    }
    if (!found) {
      return std::nullopt;
    }
  }
  if (!inside(base, current)) {
    return std::nullopt;
  }
  return current;
}

class Importer
{
public:
  Importer(store::IngestSink& sink, const ProgressFn& progress, const ImportOptions& options)
      : m_sink(sink), m_progress(progress), m_options(options)
  {
  }

  void add(const fs::path& path)
  {
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
      for (auto it = fs::recursive_directory_iterator(
               path, fs::directory_options::skip_permission_denied, ec);
           !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (it->is_regular_file(ec)) {
          m_files.push_back(it->path());
        }
      }
      if (ec) {
        fail(path, ec.message());
      }
    } else if (fs::is_regular_file(path, ec)) {
      if (dicom::is_dicomdir(path)) {
        add_dicomdir(path);
      } else {
        m_files.push_back(path);
      }
    } else {
      fail(path, "no such file or folder");
    }
  }

  ImportSummary run()
  {
    m_total = static_cast<long>(m_files.size());
    for (const auto& file : m_files) {
      if (has_zip_magic(file)) {
        import_zip(file);
      } else {
        import_file(file, file.string());
      }
      ++m_done;
      report();
    }
    return m_summary;
  }

private:
  void add_dicomdir(const fs::path& dicomdir)
  {
    auto ids = dicom::referenced_file_ids(dicomdir);
    if (!ids) {
      fail(dicomdir, ids.error().detail);
      return;
    }
    ++m_summary.skipped; // the DICOMDIR itself is not an instance
    for (const auto& parts : *ids) {
      std::string file_id;
      for (const auto& p : parts) {
        file_id += (file_id.empty() ? "" : "\\") + p;
      }
      if (!std::all_of(parts.begin(), parts.end(), safe_component)) {
        fail(dicomdir, "referenced file " + file_id
                           + " refused: a File ID component is empty, '.', '..' or holds '/'");
      } else if (auto found = resolve_file_id(dicomdir.parent_path(), parts)) {
        m_files.push_back(*found);
      } else {
        fail(dicomdir, "referenced file " + file_id + " not found inside the DICOMDIR's folder");
      }
    }
  }

  // `label` names the file in messages (a zip entry is "zip:entry").
  void import_file(const fs::path& file, const std::string& label)
  {
    if (dicom::is_dicomdir(file)) {
      ++m_summary.skipped;
      return;
    }
    const auto spool = m_sink.spool_path();
    if (dicom::has_part10_magic(file)) {
      if (auto r = core::fs::copy_new(file, spool); !r) {
        fail(label, r.error().message());
        return;
      }
      if (ingest(spool, label) != dicom::Errc::uid_mismatch) {
        return;
      }
      // The meta header names another instance than the dataset (seen on
      // media written by buggy tools): rebuild the meta header from the
      // dataset, PS3.10 7.1, and try once more.
      --m_summary.failed;
      m_summary.failures.pop_back();
      const auto rebuilt = m_sink.spool_path();
      if (auto r = dicom::write_as_part10(file, rebuilt); !r) {
        std::error_code ec;
        fs::remove(rebuilt, ec);
        fail(label, r.error().message());
        return;
      }
      ingest(rebuilt, label);
      return;
    } else {
      // No Part 10 header: only if it parses as a dataset with SOP UIDs.
      dicom::ReadOptions options;
      options.require_meta = false;
      auto info = dicom::read_instance_info(file, options);
      if (!info) {
        if (info.error().code == dicom::Errc::not_dicom) {
          ++m_summary.skipped;
        } else {
          fail(label, info.error().message());
        }
        return;
      }
      if (auto r = dicom::write_as_part10(file, spool); !r) {
        std::error_code ec;
        fs::remove(spool, ec);
        fail(label, r.error().message());
        return;
      }
    }
    ingest(spool, label);
  }

  // Returns the dicom error of a failed ingest (to retry a bad meta header).
  std::error_code ingest(const fs::path& spool, const std::string& label)
  {
    std::error_code ec;
    const auto size = fs::file_size(spool, ec);
    const store::Origin origin{store::Origin::Kind::import, label};
    const auto result = m_sink.ingest(spool, origin);
    if (!result) {
      if (result.error().code == dicom::Errc::not_dicom) {
        ++m_summary.skipped;
      } else {
        fail(label, result.error().message());
      }
      return result.error().code;
    }
    if (result->duplicate) {
      ++m_summary.duplicates;
    } else {
      ++m_summary.imported;
      m_summary.bytes += ec ? 0 : size;
    }
    return {};
  }

  void import_zip(const fs::path& zip)
  {
    archive* a = archive_read_new();
    archive_read_support_format_zip(a);
    archive_read_support_filter_all(a);
    if (archive_read_open_filename(a, zip.c_str(), 1 << 16) != ARCHIVE_OK) {
      fail(zip, archive_error_string(a) ? archive_error_string(a) : "cannot open zip");
      archive_read_free(a);
      return;
    }
    archive_entry* entry = nullptr;
    int rc = ARCHIVE_OK;
    long index = 0;
    std::uint64_t zip_bytes = 0;
    bool stop = false;
    // ARCHIVE_WARN: the entry is readable, but its name could not be
    // converted (a GBK name without the UTF-8 flag, for one). Still import it.
    while (!stop
           && ((rc = archive_read_next_header(a, &entry)) == ARCHIVE_OK || rc == ARCHIVE_WARN)) {
      ++index;
      if (archive_entry_filetype(entry) != AE_IFREG) {
        continue;
      }
      const std::string label = zip.string() + ":" + entry_name(entry, index);
      ++m_total;
      const auto tmp = m_sink.spool_path();
      stop = !tmp_extract(a, tmp, label, zip_bytes);
      ++m_done;
      report();
    }
    if (!stop && rc != ARCHIVE_EOF) {
      fail(zip, archive_error_string(a) ? archive_error_string(a) : "zip read error");
    }
    archive_read_free(a);
  }

  // The entry's name for messages: UTF-8 if libarchive can give it, else the
  // raw bytes, else its position.
  static std::string entry_name(archive_entry* entry, long index)
  {
    if (const char* utf8 = archive_entry_pathname_utf8(entry)) {
      return utf8;
    }
    if (const char* raw = archive_entry_pathname(entry)) {
      return raw;
    }
    return "entry " + std::to_string(index);
  }

  // Free bytes on the file system of `dir`, or max if unknown.
  static std::uint64_t free_bytes(const fs::path& dir)
  {
    struct statvfs st
    {
    };
    if (::statvfs(dir.c_str(), &st) != 0) {
      return UINT64_MAX;
    }
    return static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize;
  }

  // Extract the current entry to `tmp` within the byte budgets, then import
  // it like a file. False if the rest of the zip must not be read (its total
  // budget is spent or the disk is nearly full).
  bool tmp_extract(archive* a, const fs::path& tmp, const std::string& label,
                   std::uint64_t& zip_bytes)
  {
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
      fail(label, std::string("cannot create spool file: ") + std::strerror(errno));
      return true;
    }
    std::string error;
    bool go_on = true;
    std::uint64_t entry_bytes = 0;
    std::uint64_t checked_at = 0;
    std::vector<char> buf(1 << 16);
    for (;;) {
      const la_ssize_t n = archive_read_data(a, buf.data(), buf.size());
      if (n == 0) {
        break;
      }
      if (n < 0) {
        error = archive_error_string(a) ? archive_error_string(a) : "cannot extract";
        break;
      }
      entry_bytes += static_cast<std::uint64_t>(n);
      zip_bytes += static_cast<std::uint64_t>(n);
      if (entry_bytes > m_options.max_entry_bytes) {
        error = "entry inflates past " + std::to_string(m_options.max_entry_bytes)
                + " bytes (zip bomb?); skipped";
        break;
      }
      if (zip_bytes > m_options.max_zip_bytes) {
        error = "zip inflates past " + std::to_string(m_options.max_zip_bytes)
                + " bytes in total (zip bomb?); rest of the zip skipped";
        go_on = false;
        break;
      }
      if (entry_bytes - checked_at >= (std::uint64_t(16) << 20) || checked_at == 0) {
        checked_at = entry_bytes;
        if (free_bytes(tmp.parent_path()) < m_options.min_free_bytes) {
          error = "less than " + std::to_string(m_options.min_free_bytes)
                  + " bytes free on the store's file system; rest of the zip skipped";
          go_on = false;
          break;
        }
      }
      const char* p = buf.data();
      std::size_t left = static_cast<std::size_t>(n);
      while (left > 0) {
        const auto w = ::write(fd, p, left);
        if (w < 0) {
          if (errno == EINTR) {
            continue;
          }
          error = std::string("cannot write spool file: ") + std::strerror(errno);
          break;
        }
        p += w;
        left -= static_cast<std::size_t>(w);
      }
      if (!error.empty()) {
        go_on = errno != ENOSPC && errno != EDQUOT;
        break;
      }
    }
    if (::close(fd) != 0 && error.empty()) {
      error = std::string("cannot write spool file: ") + std::strerror(errno);
    }
    if (!error.empty()) {
      fail(label, error);
      std::error_code ec;
      fs::remove(tmp, ec);
      return go_on;
    }
    import_file(tmp, label);
    std::error_code ec;
    fs::remove(tmp, ec);
    return true;
  }

  void fail(const fs::path& path, const std::string& why) { fail(path.string(), why); }
  void fail(const std::string& label, const std::string& why)
  {
    ++m_summary.failed;
    m_summary.failures.push_back(label + ": " + why);
  }

  void report()
  {
    if (m_progress) {
      m_progress({m_done, m_total, m_summary.bytes, &m_summary});
    }
  }

  store::IngestSink& m_sink;
  const ProgressFn& m_progress;
  const ImportOptions& m_options;
  std::vector<fs::path> m_files;
  ImportSummary m_summary;
  long m_done = 0;
  long m_total = 0;
};

} // namespace

ImportSummary
import_paths(const std::vector<fs::path>& paths, store::IngestSink& sink,
             const ProgressFn& progress, const ImportOptions& options)
{
  Importer importer(sink, progress, options);
  for (const auto& p : paths) {
    importer.add(p);
  }
  return importer.run();
}

} // namespace media
