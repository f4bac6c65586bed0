// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "job_store.hpp"
#include "options.hpp"

#include <atomic>
#include <string>

namespace store {
class Query;
}

namespace forward {

// One attempt at a job: send its pending instances to the destination
// (several associations when more than 128 presentation contexts are
// needed, transcoding as the destination requires), record each C-STORE
// status, then either finish the job or schedule the next attempt with
// exponential backoff and jitter. Instances already delivered are never
// sent again. Statuses (PS3.4 B.2.3): 0000 done; B000/B006/B007 delivered
// with warning; A7xx (out of resources) and network failures are retried;
// anything else (A9xx, Cxxx, SOP class refused) fails that instance for good.
// Returns false if the job could not be claimed (another process runs it).
bool run_attempt(JobStore& jobs, store::Query& query, const Options& options, long job_id,
                 const std::string& owner, const std::atomic<bool>& stop);

// True when a lease taken at `claimed_at` for `seconds` is to be renewed at
// `now`: once half of it has passed.
bool lease_due(double claimed_at, double now, int seconds);

// Seconds until the next attempt after `attempts` failed ones.
double backoff_seconds(const RetryPolicy& policy, int attempts);

} // namespace forward
