// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "job_store.hpp"
#include "options.hpp"

#include <store/ingest.hpp>

namespace forward {

// An IngestSink in front of the store: every newly stored instance that a
// forwarding rule matches is queued for its destination. Duplicates and
// failures are not forwarded. An instance stored but not queued (the
// queue failed, or the process died in between) is queued by the next
// ForwardingSink constructed on the store. Thread-safe.
class ForwardingSink final : public store::IngestSink
{
public:
  ForwardingSink(store::IngestSink& inner, JobStore& jobs, const Options& options);

  std::filesystem::path spool_path() override;
  core::Result<store::Ingested> ingest(const std::filesystem::path& file,
                                       const store::Origin& origin,
                                       const store::Claimed& claimed = {}) override;
  bool contains(const std::string& sop_instance_uid) override;
  std::filesystem::path stored_file(const std::string& sop_instance_uid) override;

private:
  // Queue what an earlier process stored but did not queue.
  void sweep();

  store::IngestSink& m_inner;
  JobStore& m_jobs;
  const Options& m_options;
};

} // namespace forward
