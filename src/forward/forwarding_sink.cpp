// SPDX-License-Identifier: GPL-3.0-or-later
#include "forwarding_sink.hpp"

#include "rules.hpp"

#include <core/log.hpp>

namespace forward {

ForwardingSink::ForwardingSink(store::IngestSink& inner, JobStore& jobs, const Options& options)
    : m_inner(inner), m_jobs(jobs), m_options(options)
{
  sweep();
}

void
ForwardingSink::sweep()
{
  auto left = m_jobs.unqueued();
  if (!left) {
    CF_LOG(error, "forward",
           "cannot read instances stored but not queued: " << left.error().message());
    return;
  }
  for (const auto& u : *left) {
    const auto destinations = matching_destinations(m_options.rules, u.origin, u.modality);
    if (auto r = m_jobs.enqueue_stored(destinations, u.study_uid, u.sop_uid, m_options.batch_delay);
        !r) {
      CF_LOG(error, "forward", u.sop_uid << " still not queued: " << r.error().message());
      return;
    }
    if (!destinations.empty()) {
      CF_LOG(warn, "forward", u.sop_uid << " was stored but not queued; queued now");
    }
  }
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
  if (m_options.rules.empty()) {
    return m_inner.ingest(file, origin, claimed);
  }
  // The index notes the instance as unqueued in the same transaction as its
  // row; enqueue_stored() deletes the note in the queue's. If queueing fails
  // here, the sweep of the next process start queues it (S18).
  store::Origin noted = origin;
  noted.mark_unqueued = true;
  auto result = m_inner.ingest(file, noted, claimed);
  if (!result || result->duplicate) {
    return result;
  }
  const auto destinations = matching_destinations(m_options.rules, origin, result->modality);
  if (auto r = m_jobs.enqueue_stored(destinations, result->study_instance_uid,
                                     result->sop_instance_uid, m_options.batch_delay);
      !r) {
    CF_LOG(error, "forward",
           result->sop_instance_uid << " stored but not queued (queued at the next start): "
                                    << r.error().message());
  }
  return result;
}

} // namespace forward
