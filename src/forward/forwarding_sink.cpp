// SPDX-License-Identifier: GPL-3.0-or-later
#include "forwarding_sink.hpp"

#include "rules.hpp"

#include <core/log.hpp>

namespace forward {

ForwardingSink::ForwardingSink(store::IngestSink& inner, JobStore& jobs, const Options& options)
  : m_inner(inner), m_jobs(jobs), m_options(options)
{
}

std::filesystem::path
ForwardingSink::spool_path()
{
  return m_inner.spool_path();
}

bool
ForwardingSink::contains(const std::string& sop_instance_uid)
{
  return m_inner.contains(sop_instance_uid);
}

std::filesystem::path
ForwardingSink::stored_file(const std::string& sop_instance_uid)
{
  return m_inner.stored_file(sop_instance_uid);
}

core::Result<store::Ingested>
ForwardingSink::ingest(const std::filesystem::path& file, const store::Origin& origin,
                       const store::Claimed& claimed)
{
  auto result = m_inner.ingest(file, origin, claimed);
  if (!result || result->duplicate || m_options.rules.empty()) {
    return result;
  }
  for (const auto& destination : matching_destinations(m_options.rules, origin, result->modality)) {
    if (auto r = m_jobs.enqueue(destination, result->study_instance_uid, result->sop_instance_uid,
                                m_options.batch_delay);
        !r) {
      // Stored but not queued: say so loudly; `cloudfilm send` can make up for it.
      CF_LOG(error, "forward", result->sop_instance_uid << " stored but not queued for "
                                                        << destination << ": " << r.error().message());
    }
  }
  return result;
}

} // namespace forward
