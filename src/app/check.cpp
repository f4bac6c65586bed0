// SPDX-License-Identifier: GPL-3.0-or-later
#include "commands.hpp"

#include <cstdio>

namespace app {

int
run_check(const config::Config& config, bool repair)
{
  auto st = open_store(config);
  if (!st) {
    return 1;
  }
  auto report = st->check(repair);
  if (!report) {
    std::fprintf(stderr, "cloudfilm: check: %s\n", report.error().message().c_str());
    return 1;
  }
  for (const auto& p : report->problems) {
    std::fprintf(stderr, "%s%s\n", repair ? "repaired: " : "", p.c_str());
  }
  std::printf("%ld files, %ld indexed; %ld orphan files, %ld missing files, %ld unreadable, "
              "%ld misplaced, %ld counter errors%s\n",
              report->files, report->indexed, report->orphan_files, report->missing_files,
              report->unreadable_files, report->misplaced_files, report->counter_errors,
              report->clean() ? "" : (repair ? " (repaired)" : " (run with --repair)"));
  return (report->clean() || repair) ? 0 : 1;
}

} // namespace app
