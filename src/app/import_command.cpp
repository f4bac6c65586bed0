// SPDX-License-Identifier: GPL-3.0-or-later
#include "commands.hpp"

#include <media/har_import.hpp>
#include <media/import.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdio>

namespace app {

namespace {

// A one-line progress bar on stderr, redrawn at most 10 times a second.
class ProgressBar
{
public:
  void operator()(const media::ImportProgress& p)
  {
    const auto now = std::chrono::steady_clock::now();
    if (now - m_last < std::chrono::milliseconds(100) && p.done != p.total) {
      return;
    }
    m_last = now;
    const double seconds = std::chrono::duration<double>(now - m_start).count();
    const double mb = static_cast<double>(p.bytes) / 1e6;
    const int width = 30;
    const int filled = p.total > 0 ? static_cast<int>(width * p.done / p.total) : 0;
    std::fprintf(stderr, "\r[%-*.*s] %ld/%ld files, %.1f MB, %.1f MB/s ", width, filled,
                 "##############################", p.done, p.total, mb,
                 seconds > 0 ? mb / seconds : 0.0);
    m_drawn = true;
  }
  ~ProgressBar()
  {
    if (m_drawn) {
      std::fputc('\n', stderr);
    }
  }

private:
  std::chrono::steady_clock::time_point m_start = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point m_last{};
  bool m_drawn = false;
};

} // namespace

int
run_import(const config::Config& config, const std::vector<std::string>& paths)
{
  // Forwarding rules apply to imports too; the running node sends the jobs.
  auto intake = open_intake(config);
  if (!intake) {
    return 1;
  }
  std::vector<std::filesystem::path> inputs(paths.begin(), paths.end());
  media::ImportSummary summary;
  {
    ProgressBar bar;
    media::ProgressFn progress;
    if (::isatty(STDERR_FILENO)) {
      progress = [&bar](const media::ImportProgress& p) { bar(p); };
    }
    summary = media::import_paths(inputs, *intake->sink, progress);
  }
  for (const auto& f : summary.failures) {
    std::fprintf(stderr, "cloudfilm: import: %s\n", f.c_str());
  }
  std::printf("imported %ld, duplicates %ld, skipped %ld (not DICOM), failed %ld\n",
              summary.imported, summary.duplicates, summary.skipped, summary.failed);
  return summary.failed == 0 ? 0 : 1;
}

int
run_import_har(const config::Config& config, const std::string& har)
{
  auto intake = open_intake(config);
  if (!intake) {
    return 1;
  }
  auto summary = media::import_har(har, *intake->sink);
  if (!summary) {
    std::fprintf(stderr, "cloudfilm: import-har: %s\n", summary.error().message().c_str());
    return 1;
  }
  for (const auto& note : summary->notes) {
    std::fprintf(stderr, "cloudfilm: import-har: %s\n", note.c_str());
  }
  std::printf(
      "%ld entries, %ld DICOM objects found (%ld rebuilt from split viewers), %ld duplicate "
      "copies; imported %ld, already stored %ld, skipped %ld, failed %ld\n",
      summary->entries, summary->dicom_found, summary->rebuilt, summary->duplicates,
      summary->imported, summary->already_stored, summary->skipped, summary->failed);
  return summary->failed == 0 ? 0 : 1;
}

} // namespace app
