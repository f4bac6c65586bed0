// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <store/ingest.hpp>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace source {

// Names for the conventional export tree:
// <patient>-<exam>-<date>/<number>-<series name>/00001.dcm
struct ExportName
{
  std::string series_key; // distinguishes two series with the same name
  std::string patient;
  std::string exam;
  std::string datetime;
  std::optional<long> series_number;
  std::string series_description;
  std::size_t index = 0;       // 0-based position in the platform's listing
  std::size_t series_size = 0; // for the zero padding
};

// Progress, cancellation and the hand-over of rebuilt files of one fetch.
// Thread-safe: modules may complete instances from several threads.
class Job
{
public:
  struct Counters
  {
    long series = 0;
    long instances = 0; // known so far
    long stored = 0;
    long already = 0; // stored before (resume) or duplicate
    long skipped = 0; // not DICOM (pseudo images, screenshots)
    long failed = 0;
    std::uint64_t bytes = 0; // downloaded
  };

  // `out`: folder for the conventional export tree, or empty for none.
  Job(store::IngestSink& sink, std::string module, std::filesystem::path out = {});

  void add_series(long n);
  void add_instances(long n);
  void add_bytes(std::uint64_t n);
  void skipped(const std::string& why);
  void failed(const std::string& what);

  // Ingest a rebuilt Part 10 file (taking it), export it under `name` when
  // an output folder was given. Errors are counted and returned.
  core::Result<store::Ingested> deliver(const std::filesystem::path& file, const ExportName& name);

  // An instance the store already holds (resume). With `name`, it is still
  // exported to the output folder, from the stored file.
  void already_stored(const std::string& sop_uid, const ExportName* name = nullptr);

  void cancel();
  bool cancelled() const;

  Counters counters() const;
  std::vector<std::string> problems() const;

  // Called after each change, from whichever thread made it: the workers of
  // for_each_parallel() call it concurrently, so it must be thread-safe
  // (and throttle itself).
  std::function<void(const Counters&)> on_progress;

private:
  void changed();
  void export_file(const std::filesystem::path& file, const ExportName& name);

  store::IngestSink& m_sink;
  std::string m_module;
  std::filesystem::path m_out;
  mutable std::mutex m_mutex;
  Counters m_counters;
  std::vector<std::string> m_problems;
  std::map<std::string, std::filesystem::path> m_series_dirs; // series key -> folder
  std::atomic<bool> m_cancelled{false};
};

// Call `f(0..count-1)` from `threads` worker threads, each taking the next
// index, until all are done or `job` is cancelled. Returns when all workers
// have finished. `f` must not throw.
void for_each_parallel(std::size_t count, int threads, const Job& job,
                       const std::function<void(std::size_t)>& f);

// A file or folder name safe on every file system: platforms.md 2.3's nine
// look-alike replacements (':' -> '：' ...), control characters dropped,
// trailing dots and spaces trimmed, Windows device names (CON, NUL, COM1...)
// prefixed with '_', at most 120 bytes (cut on a UTF-8 boundary); never empty.
std::string safe_name(const std::string& name, const std::string& fallback);

// "<patient>-<exam>-<date>" (date without '-', ':' and spaces).
std::string study_folder(const ExportName& name);
// "<number>-<description>", "<number>", "<description>" or "Unnamed".
std::string series_folder(const ExportName& name);
// "00001.dcm": 1-based, at least five digits.
std::string instance_file(const ExportName& name);

} // namespace source
