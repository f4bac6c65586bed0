// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "settings.hpp"

#include <string>
#include <vector>

// One function per command line command; each returns the exit status.
namespace app {

int run_serve(const config::Config& config);
int run_import(const config::Config& config, const std::vector<std::string>& paths);

struct LsOptions
{
  std::string what = "studies"; // patients | studies | series | instances
  std::string uid;              // study UID for series, series UID for instances
  bool json = false;
};
int run_ls(const config::Config& config, const LsOptions& options);

int run_check(const config::Config& config, bool repair);

} // namespace app
