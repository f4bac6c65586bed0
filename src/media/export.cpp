// SPDX-License-Identifier: GPL-3.0-or-later
// Zip export of a study with a DICOMDIR, through libarchive.
#include "export.hpp"

#include <core/fs.hpp>
#include <dicom/dicomdir.hpp>
#include <store/errors.hpp>

#include <archive.h>
#include <archive_entry.h>

#include <cstdio>
#include <fstream>
#include <memory>

namespace media {

namespace fs = std::filesystem;

namespace {

struct Entry
{
  std::string file_id; // "DICOM/S0001/I00001"
  fs::path source;
};

std::string
numbered(char prefix, std::size_t n, int width)
{
  char buf[32];
  std::snprintf(buf, sizeof buf, "%c%0*zu", prefix, width, n);
  return buf;
}

struct WriteContext
{
  const std::function<bool(std::string)>* write = nullptr;
  bool reader_gone = false;
};

la_ssize_t
on_write(struct archive*, void* data, const void* buffer, size_t length)
{
  auto* ctx = static_cast<WriteContext*>(data);
  try {
    if (!(*ctx->write)(std::string(static_cast<const char*>(buffer), length))) {
      ctx->reader_gone = true;
      return -1;
    }
  } catch (...) { // nothing may leave a C callback
    ctx->reader_gone = true;
    return -1;
  }
  return static_cast<la_ssize_t>(length);
}

core::Result<void>
io_error(const std::string& what)
{
  return core::make_error(std::make_error_code(std::errc::io_error), what);
}

core::Result<void>
add_file(struct archive* a, const std::string& name, const fs::path& source)
{
  std::ifstream in(source, std::ios::binary);
  std::error_code ec;
  const auto size = fs::file_size(source, ec);
  if (!in || ec) {
    return io_error(source.string() + ": cannot read");
  }
  std::unique_ptr<archive_entry, decltype(&archive_entry_free)> entry(archive_entry_new(),
                                                                      archive_entry_free);
  archive_entry_set_pathname(entry.get(), name.c_str());
  archive_entry_set_size(entry.get(), static_cast<la_int64_t>(size));
  archive_entry_set_filetype(entry.get(), AE_IFREG);
  archive_entry_set_perm(entry.get(), 0644);
  if (archive_write_header(a, entry.get()) != ARCHIVE_OK) {
    return io_error(std::string("zip: ") + archive_error_string(a));
  }
  std::string buffer(1 << 20, '\0');
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    const auto n = in.gcount();
    if (n > 0 && archive_write_data(a, buffer.data(), static_cast<size_t>(n)) < 0) {
      return io_error(std::string("zip: ") + archive_error_string(a));
    }
  }
  return {};
}

} // namespace

core::Result<void>
export_zip(store::Query& query, store::IngestSink& store, const std::string& study_uid,
           const std::function<bool(std::string)>& write)
{
  auto series = query.series(study_uid);
  if (!series) {
    return series.error();
  }
  if (series->empty()) {
    return core::make_error(store::Errc::not_found, "no study " + study_uid + " in the store");
  }
  std::vector<Entry> entries;
  for (std::size_t s = 0; s < series->size(); ++s) {
    auto instances = query.instances((*series)[s].series_instance_uid);
    if (!instances) {
      return instances.error();
    }
    for (std::size_t i = 0; i < instances->size(); ++i) {
      const auto path = store.stored_file((*instances)[i].sop_instance_uid);
      if (path.empty()) {
        continue; // deleted meanwhile
      }
      entries.push_back({"DICOM/" + numbered('S', s + 1, 4) + "/" + numbered('I', i + 1, 5), path});
    }
  }
  // DCMTK reads the files where the DICOMDIR lists them: a folder of
  // symbolic links in the spool stands in for the medium.
  const fs::path tree = store.spool_path().string() + ".media";
  struct Cleanup
  {
    fs::path dir;
    ~Cleanup()
    {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } cleanup{tree};
  std::vector<std::string> ids;
  for (const auto& e : entries) {
    const auto link = tree / e.file_id;
    std::error_code ec;
    fs::create_directories(link.parent_path(), ec);
    fs::create_symlink(e.source, link, ec);
    if (ec) {
      return io_error(link.string() + ": " + ec.message());
    }
    ids.push_back(e.file_id);
  }
  if (auto r = dicom::write_dicomdir(tree, ids, tree / "DICOMDIR"); !r) {
    return r.error();
  }

  WriteContext ctx{&write};
  std::unique_ptr<struct archive, decltype(&archive_write_free)> a(archive_write_new(),
                                                                   archive_write_free);
  archive_write_set_format_zip(a.get());
  archive_write_zip_set_compression_store(a.get());
  archive_write_set_bytes_per_block(a.get(), 1 << 16);
  archive_write_set_bytes_in_last_block(a.get(), 1); // no zero padding after the end record
  if (archive_write_open(a.get(), &ctx, nullptr, on_write, nullptr) != ARCHIVE_OK) {
    return io_error(std::string("zip: ") + archive_error_string(a.get()));
  }
  auto r = add_file(a.get(), "DICOMDIR", tree / "DICOMDIR");
  for (std::size_t i = 0; r && i < entries.size(); ++i) {
    r = add_file(a.get(), entries[i].file_id, entries[i].source);
  }
  if (r && archive_write_close(a.get()) != ARCHIVE_OK) {
    r = io_error(std::string("zip: ") + archive_error_string(a.get()));
  }
  if (ctx.reader_gone) {
    return io_error("the reader went away");
  }
  return r;
}

core::Result<void>
export_zip_file(store::Query& query, store::IngestSink& store, const std::string& study_uid,
                const fs::path& file)
{
  const fs::path tmp = file.string() + ".part";
  std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
  if (!out) {
    return io_error(tmp.string() + ": cannot create");
  }
  auto r = export_zip(query, store, study_uid, [&out](std::string chunk) {
    out.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    return static_cast<bool>(out);
  });
  out.close();
  if (r && !out) {
    r = io_error(tmp.string() + ": write failed");
  }
  if (r) {
    r = core::fs::move_replace(tmp, file);
  }
  if (!r) {
    std::error_code ec;
    fs::remove(tmp, ec);
  }
  return r;
}

} // namespace media
