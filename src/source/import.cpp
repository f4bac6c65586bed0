// SPDX-License-Identifier: GPL-3.0-or-later
#include "import.hpp"

#include <dicom/errors.hpp>
#include <dicom/instance_info.hpp>
#include <dicom/part10.hpp>

#include <core/fs.hpp>
#include <core/strings.hpp>

#include <dcmtk/config/osconfig.h>

#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcitem.h>
#include <dcmtk/dcmdata/dcsequen.h>

#include <archive.h>
#include <archive_entry.h>

#include <fcntl.h>
#include <unistd.h>

namespace source {

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

// Find `components` under `base` case-insensitively: DICOMDIR file IDs are
// upper-case ISO 9660 names, often copied onto case-sensitive disks lower-case.
std::optional<fs::path>
resolve_file_id(const fs::path& base, const std::vector<std::string>& components)
{
  fs::path current = base;
  for (const auto& c : components) {
    // PS3.10 8.5: a File ID names a file below the DICOMDIR's folder; "..",
    // "." or a '/' (an absolute path) would reach files outside the media.
    if (c.empty() || c == "." || c == ".." || c.find('/') != std::string::npos) {
      return std::nullopt;
    }
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
  return current;
}

class Importer
{
public:
  Importer(store::IngestSink& sink, const ProgressFn& progress) : m_sink(sink), m_progress(progress)
  {
  }

  void add(const fs::path& path)
  {
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
      for (auto it = fs::recursive_directory_iterator(path, fs::directory_options::skip_permission_denied, ec);
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
    DcmFileFormat ff;
    try { // DCMTK 3.6.7 can throw on malformed directory records
      if (ff.loadFile(dicomdir.c_str()).bad()) {
        fail(dicomdir, "DICOMDIR does not parse");
        return;
      }
    } catch (const std::exception& e) {
      fail(dicomdir, std::string("DICOMDIR does not parse: ") + e.what());
      return;
    }
    DcmSequenceOfItems* records = nullptr;
    if (ff.getDataset()->findAndGetSequence(DCM_DirectoryRecordSequence, records).bad()
        || records == nullptr) {
      fail(dicomdir, "DICOMDIR has no directory records");
      return;
    }
    ++m_summary.skipped; // the DICOMDIR itself is not an instance
    for (unsigned long i = 0; i < records->card(); ++i) {
      OFString file_id;
      if (records->getItem(i)->findAndGetOFStringArray(DCM_ReferencedFileID, file_id).bad()
          || file_id.empty()) {
        continue;
      }
      std::vector<std::string> parts;
      for (auto& p : core::split(file_id.c_str(), '\\')) {
        parts.emplace_back(core::trim(p));
      }
      if (auto found = resolve_file_id(dicomdir.parent_path(), parts)) {
        m_files.push_back(*found);
      } else {
        fail(dicomdir, "referenced file " + std::string(file_id.c_str()) + " not found");
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
    while ((rc = archive_read_next_header(a, &entry)) == ARCHIVE_OK) {
      if (archive_entry_filetype(entry) != AE_IFREG) {
        continue;
      }
      const std::string label = zip.string() + ":" + archive_entry_pathname(entry);
      ++m_total;
      const auto tmp = m_sink.spool_path();
      tmp_extract(a, tmp, label);
      ++m_done;
      report();
    }
    if (rc != ARCHIVE_EOF) {
      fail(zip, archive_error_string(a) ? archive_error_string(a) : "zip read error");
    }
    archive_read_free(a);
  }

  // Extract the current entry to `tmp`, then import it like a file.
  void tmp_extract(archive* a, const fs::path& tmp, const std::string& label)
  {
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
      fail(label, std::string("cannot create spool file: ") + std::strerror(errno));
      return;
    }
    const int rc = archive_read_data_into_fd(a, fd);
    ::close(fd);
    if (rc != ARCHIVE_OK) {
      fail(label, archive_error_string(a) ? archive_error_string(a) : "cannot extract");
      std::error_code ec;
      fs::remove(tmp, ec);
      return;
    }
    import_file(tmp, label);
    std::error_code ec;
    fs::remove(tmp, ec);
  }

  void fail(const fs::path& path, const std::string& why)
  {
    fail(path.string(), why);
  }
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
  std::vector<fs::path> m_files;
  ImportSummary m_summary;
  long m_done = 0;
  long m_total = 0;
};

} // namespace

ImportSummary
import_paths(const std::vector<fs::path>& paths, store::IngestSink& sink, const ProgressFn& progress)
{
  Importer importer(sink, progress);
  for (const auto& p : paths) {
    importer.add(p);
  }
  return importer.run();
}

} // namespace source
