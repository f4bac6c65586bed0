// SPDX-License-Identifier: GPL-3.0-or-later
// Store upkeep: `cloudfilm delete UID...` removes studies, series or
// instances, files and index together (store::Store::remove); `cloudfilm
// protect UID... [--off]` keeps studies from being recycled.
#include "commands.hpp"

#include <core/crypto.hpp>
#include <core/log.hpp>
#include <core/strings.hpp>
#include <media/export.hpp>
#include <web/security.hpp>

#include <cstdio>
#include <iostream>

namespace app {

int
run_delete(const config::Config& config, const std::vector<std::string>& uids)
{
  auto st = open_store(config);
  if (!st) {
    return 1;
  }
  // Another process (a running node) may be storing into the same folders;
  // its ingests do not wait for this process's delete.
  if (const int others = st->files().other_live_processes(); others > 0) {
    std::fprintf(stderr,
                 "cloudfilm: delete: %d other cloudfilm process(es) have the store %s open "
                 "(a running node?); stop them first, then delete\n",
                 others, st->root().c_str());
    return 1;
  }
  int status = 0;
  for (const auto& uid : uids) {
    std::size_t removed = 0;
    const char* what = "";
    for (const auto& [level, name] :
         {std::pair{store::Level::study, "study"}, std::pair{store::Level::series, "series"},
          std::pair{store::Level::image, "instance"}}) {
      auto r = st->remove(level, uid);
      if (!r) {
        std::fprintf(stderr, "cloudfilm: delete %s: %s\n", uid.c_str(),
                     r.error().message().c_str());
        return 1;
      }
      if (*r > 0) {
        removed = *r;
        what = name;
        break;
      }
    }
    if (removed == 0) {
      std::fprintf(stderr, "cloudfilm: delete: no study, series or instance %s in the store\n",
                   uid.c_str());
      status = 1;
      continue;
    }
    CF_LOG(info, "store", "deleted " << what << " " << uid << ": " << removed << " instances");
    std::printf("deleted %s %s (%zu instances)\n", what, uid.c_str(), removed);
  }
  return status;
}

int
run_protect(const config::Config& config, const std::vector<std::string>& study_uids, bool off)
{
  auto st = open_store(config);
  if (!st) {
    return 1;
  }
  int status = 0;
  for (const auto& uid : study_uids) {
    auto r = st->protect(uid, !off);
    if (!r) {
      std::fprintf(stderr, "cloudfilm: protect %s: %s\n", uid.c_str(), r.error().message().c_str());
      return 1;
    }
    if (!*r) {
      std::fprintf(stderr, "cloudfilm: protect: no study %s in the store\n", uid.c_str());
      status = 1;
      continue;
    }
    std::printf("study %s %s\n", uid.c_str(),
                off ? "may be recycled again" : "protected from recycling");
  }
  return status;
}

} // namespace app

namespace app {

int
run_export(const config::Config& config, const std::string& study_uid, const std::string& zip)
{
  auto st = open_store(config);
  if (!st) {
    return 1;
  }
  auto r = media::export_zip_file(st->query(), *st, study_uid, zip);
  if (!r) {
    std::fprintf(stderr, "cloudfilm: export %s: %s\n", study_uid.c_str(),
                 r.error().message().c_str());
    return 1;
  }
  std::printf("%s: study %s with a DICOMDIR\n", zip.c_str(), study_uid.c_str());
  return 0;
}

int
run_hash_password(bool token)
{
  std::string line;
  std::getline(std::cin, line);
  if (!line.empty() && line.back() == '\r') {
    line.pop_back();
  }
  if (token) {
    if (line.empty()) {
      // A new token: 256 random bits; shown once, only its hash is kept.
      const auto bytes = core::random_bytes(32);
      line = core::to_hex(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
      std::printf("token: %s\n", line.c_str());
    }
    std::printf("%s\n", web::hash_token(line).c_str());
    return 0;
  }
  if (line.empty()) {
    std::fprintf(stderr, "cloudfilm: hash-password: give the password on stdin\n");
    return 2;
  }
  std::printf("%s\n", web::hash_password(line).c_str());
  return 0;
}

} // namespace app
