// SPDX-License-Identifier: GPL-3.0-or-later
#include "errors.hpp"
#include "store.hpp"

#include <core/fs.hpp>
#include <core/log.hpp>

#include <unordered_map>

namespace store {

namespace fs = std::filesystem;

namespace {

// Move a file we cannot account for out of objects/, never delete it. A
// file quarantined before under the same name stays: the new one gets the
// first free suffix .1, .2, ...
void
quarantine(const fs::path& root, const fs::path& file, const std::string& relative)
{
  const auto base = root / "quarantine" / relative;
  std::error_code ec;
  fs::create_directories(base.parent_path(), ec);
  for (int n = 0; n < 10000; ++n) {
    auto target = base;
    if (n > 0) {
      target += "." + std::to_string(n);
    }
    auto moved = core::fs::move_no_replace(file, target);
    if (!moved) {
      CF_LOG(error, "store", "cannot quarantine " << relative << ": " << moved.error().message());
      return;
    }
    if (*moved) {
      return;
    }
  }
  CF_LOG(error, "store", "cannot quarantine " << relative << ": too many earlier copies");
}

} // namespace

core::Result<CheckReport>
Store::check(bool repair)
{
  CheckReport report;
  std::unordered_map<std::string, std::string> by_path; // relative path -> SOP UID
  if (auto r = m_index->for_each_file(
          [&](const std::string& sop, const std::string& rel) { by_path.emplace(rel, sop); });
      !r) {
    return r.error();
  }
  report.indexed = static_cast<long>(by_path.size());

  const auto objects = root() / "objects";
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(objects, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file()) {
      continue;
    }
    const auto relative = fs::relative(it->path(), root()).generic_string();
    ++report.files;
    if (by_path.erase(relative) > 0) {
      continue;
    }
    dicom::ReadOptions read_options;
    read_options.fallback_charset = m_options.fallback_charset;
    auto info = dicom::read_instance_info(it->path(), read_options);
    if (!info) {
      ++report.unreadable_files;
      report.problems.push_back("unreadable file " + relative + ": " + info.error().message());
      if (repair) {
        quarantine(root(), it->path(), relative);
      }
      continue;
    }
    const auto expected = FileStore::relative_path_for(info->sop_instance_uid);
    if (expected != relative) {
      ++report.misplaced_files;
      report.problems.push_back("file " + relative + " holds " + info->sop_instance_uid
                                + ", expected at " + expected);
      if (repair) {
        quarantine(root(), it->path(), relative);
      }
      continue;
    }
    ++report.orphan_files;
    report.problems.push_back("file " + relative + " (" + info->sop_instance_uid + ") not indexed");
    if (repair) {
      auto size = core::fs::file_size(it->path());
      if (size) {
        if (auto r = m_index->add(*info, {relative, *size}, {Origin::Kind::import, "check"}); !r) {
          return r.error();
        }
      }
    }
  }
  if (ec) {
    return core::make_error(Errc::io_failed, objects.string() + ": " + ec.message());
  }
  for (const auto& [relative, sop] : by_path) {
    ++report.missing_files;
    report.problems.push_back("instance " + sop + " indexed but file " + relative + " missing");
    if (repair) {
      if (auto r = m_index->remove(sop); !r) {
        return r.error();
      }
    }
  }
  auto counters = m_index->check_counters(repair);
  if (!counters) {
    return counters.error();
  }
  report.counter_errors = *counters;
  if (*counters > 0) {
    report.problems.push_back(std::to_string(*counters) + " entities with wrong counters");
  }
  return report;
}

} // namespace store
