// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "settings.hpp"

#include <string>
#include <vector>

// One function per command line command; each returns the exit status.
namespace app {

int run_serve(const config::Config& config);
int run_import(const config::Config& config, const std::vector<std::string>& paths);
int run_import_har(const config::Config& config, const std::string& har);

struct LsOptions
{
  std::string what = "studies"; // patients | studies | series | instances
  std::string uid;              // study UID for series, series UID for instances
  bool json = false;
};
int run_ls(const config::Config& config, const LsOptions& options);

int run_check(const config::Config& config, bool repair);
int run_delete(const config::Config& config, const std::vector<std::string>& uids);
int run_export(const config::Config& config, const std::string& study_uid, const std::string& zip);
int run_hash_password(bool token);
int run_protect(const config::Config& config, const std::vector<std::string>& study_uids, bool off);

struct SendOptions
{
  std::vector<std::string> uids; // study, series or SOP instance UIDs
  std::string to;                // modality name
  bool wait = false;
};
int run_send(const config::Config& config, const SendOptions& options);

struct QueueOptions
{
  std::string action; // "" (list), "retry", "cancel"
  long job = 0;
  bool json = false;
};
int run_queue(const config::Config& config, const QueueOptions& options);

int run_echo(const config::Config& config, const std::string& modality);

struct FetchOptions
{
  std::string url;
  std::string password;
  std::string password_file;        // first line is the password
  std::string out;                  // export tree folder, or empty
  bool raw = false;                 // Hinacom: native pixels instead of JPEG 2000
  std::string study_uid;            // DICOMweb
  std::vector<std::string> resolve; // extra "host:port:address"
  bool list_platforms = false;
};
int run_fetch(const config::Config& config, const FetchOptions& options);

} // namespace app
