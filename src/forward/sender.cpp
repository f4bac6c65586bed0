// SPDX-License-Identifier: GPL-3.0-or-later
#include "sender.hpp"

#include <core/log.hpp>
#include <net/errors.hpp>
#include <net/store_scu.hpp>
#include <net/store_status.hpp>
#include <store/query.hpp>

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <random>

namespace forward {

namespace {

// Renewed before each C-STORE once half of it has passed (lease_due), so
// one C-STORE may take up to 60 s (the default dimse_timeout) safely.
constexpr int k_lease_seconds = 120;
constexpr std::size_t k_chunk = 500; // SOP UIDs per index lookup

enum class Outcome { done, warning, retry, failed };

// PS3.4 B.2.3 through net::store_outcome: a resources refusal is retried.
Outcome
classify(std::uint16_t status)
{
  switch (net::store_outcome(status)) {
  case net::StoreOutcome::success:
    return Outcome::done;
  case net::StoreOutcome::warning:
    return Outcome::warning;
  case net::StoreOutcome::resources:
    return Outcome::retry;
  case net::StoreOutcome::failure:
    break;
  }
  return Outcome::failed;
}

std::string
hex(std::uint16_t status)
{
  char buf[8];
  std::snprintf(buf, sizeof(buf), "0x%04X", status);
  return buf;
}

const Destination*
find_destination(const Options& options, const std::string& name)
{
  for (const auto& d : options.destinations) {
    if (d.name == name) {
      return &d;
    }
  }
  return nullptr;
}

// Resolve SOP UIDs to stored files through the index (C-GET style lookup).
core::Result<std::vector<store::RetrieveItem>>
resolve(store::Query& query, const std::vector<std::string>& sops)
{
  std::vector<store::RetrieveItem> out;
  for (std::size_t i = 0; i < sops.size(); i += k_chunk) {
    std::string list;
    for (std::size_t k = i; k < std::min(sops.size(), i + k_chunk); ++k) {
      list += (list.empty() ? "" : "\\") + sops[k];
    }
    store::FindRequest request;
    request.model = store::Model::study_root;
    request.level = store::Level::image;
    request.keys.push_back({0x00080018, list, false});
    auto items = query.retrieve(request);
    if (!items) {
      return items.error();
    }
    out.insert(out.end(), items->begin(), items->end());
  }
  return out;
}

} // namespace

bool
lease_due(double claimed_at, double now, int seconds)
{
  return now - claimed_at >= seconds / 2.0;
}

double
backoff_seconds(const RetryPolicy& policy, int attempts)
{
  static thread_local std::mt19937 rng{std::random_device{}()};
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  const double base = policy.initial_delay * std::pow(2.0, std::max(0, attempts - 1));
  return std::min<double>(policy.max_delay, base) * jitter(rng);
}

bool
run_attempt(JobStore& jobs, store::Query& query, const Options& options, long job_id,
            const std::string& owner, const std::atomic<bool>& stop)
{
  double claimed_at = now_seconds();
  auto claimed = jobs.claim(job_id, owner, claimed_at, k_lease_seconds);
  if (!claimed || !*claimed) {
    return false;
  }
  auto summary = jobs.job(job_id);
  if (!summary || !summary->has_value() || (*summary)->state != JobState::pending) {
    (void)jobs.release(job_id, owner);
    return true;
  }
  const auto job = **summary;
  const int attempt = job.attempts + 1;
  std::string error;       // why this attempt did not finish the job
  std::string permanent;   // first permanent failure, kept as the job's reason
  bool lease_lost = false; // the job is another process's now: leave it alone

  const auto* destination = find_destination(options, job.destination);
  auto pending = jobs.pending_items(job_id);
  if (destination == nullptr) {
    error = "destination '" + job.destination + "' is not configured";
  } else if (!pending) {
    error = pending.error().message();
  } else {
    auto found = resolve(query, *pending);
    if (!found) {
      error = found.error().message();
    } else {
      // Instances deleted from the store since the job was queued.
      std::vector<std::string> missing = *pending;
      for (const auto& item : *found) {
        missing.erase(std::remove(missing.begin(), missing.end(), item.sop_instance_uid),
                      missing.end());
      }
      for (const auto& sop : missing) {
        (void)jobs.record(job_id, sop, ItemState::failed, -1, "not in the store");
        permanent = permanent.empty() ? "instance " + sop + " not in the store" : permanent;
      }
      std::vector<net::SendItem> items;
      for (const auto& f : *found) {
        items.push_back({f.sop_class_uid, f.sop_instance_uid, f.transfer_syntax_uid, f.path});
      }
      const net::StoreTarget target{
          options.our_ae_title, destination->ae_title, destination->host, destination->port,
          options.acse_timeout, options.dimse_timeout, options.max_pdu};
      long sent = 0;
      for (const auto& batch : net::StoreScu::batches(items)) {
        if (stop || !error.empty()) {
          break;
        }
        net::StoreScu scu(target);
        if (auto r = scu.open(batch); !r) {
          if (r.error().code == net::Errc::no_accepted_context) {
            for (const auto& item : batch) {
              (void)jobs.record(job_id, item.sop_instance_uid, ItemState::failed, -1,
                                r.error().message());
            }
            permanent = permanent.empty() ? r.error().message() : permanent;
            continue;
          }
          error = r.error().message();
          break;
        }
        for (const auto& item : batch) {
          if (stop) {
            break;
          }
          // Renew by time, not by count: 50 sends to a slow destination can
          // take longer than the lease, and another process would then
          // claim the job and send the same instances again.
          if (const double now = now_seconds(); lease_due(claimed_at, now, k_lease_seconds)) {
            auto renewed = jobs.claim(job_id, owner, now, k_lease_seconds);
            if (renewed && !*renewed) {
              error = "lease lost to another process";
              lease_lost = true;
              break;
            }
            if (renewed) {
              claimed_at = now;
            }
          }
          auto result = scu.send(item);
          if (!result) {
            if (result.error().code == net::Errc::exchange_failed) {
              error = result.error().message(); // network: retry the rest later
              break;
            }
            // No acceptable context or cannot transcode: this instance never will.
            (void)jobs.record(job_id, item.sop_instance_uid, ItemState::failed, -1,
                              result.error().message());
            permanent = permanent.empty() ? result.error().message() : permanent;
            continue;
          }
          const auto status = result->status;
          switch (classify(status)) {
          case Outcome::done:
            (void)jobs.record(job_id, item.sop_instance_uid, ItemState::done, status, "");
            ++sent;
            break;
          case Outcome::warning:
            (void)jobs.record(job_id, item.sop_instance_uid, ItemState::warning, status, "");
            ++sent;
            break;
          case Outcome::retry:
            (void)jobs.record(job_id, item.sop_instance_uid, ItemState::pending, status,
                              "C-STORE status " + hex(status));
            error = "C-STORE status " + hex(status) + " (out of resources)";
            break;
          case Outcome::failed:
            (void)jobs.record(job_id, item.sop_instance_uid, ItemState::failed, status,
                              "C-STORE status " + hex(status));
            permanent = permanent.empty()
                            ? "C-STORE status " + hex(status) + " for " + item.sop_instance_uid
                            : permanent;
            break;
          }
        }
        scu.close();
      }
      CF_LOG(info, "forward",
             "job " << job_id << " to " << job.destination << ": attempt " << attempt << ", "
                    << sent << " sent" << (error.empty() ? "" : ", ") << error);
    }
  }

  if (lease_lost) {
    CF_LOG(warn, "forward", "job " << job_id << ": lease lost, left to its new owner");
    return true;
  }
  auto left = jobs.pending_items(job_id);
  const bool finished = left && left->empty();
  if (finished) {
    (void)jobs.finish(job_id, permanent.empty() ? JobState::done : JobState::failed, attempt,
                      now_seconds(), permanent);
  } else if (stop && error.empty()) {
    (void)jobs.finish(job_id, JobState::pending, job.attempts, now_seconds(), job.last_error);
  } else if (attempt >= options.retry.max_attempts) {
    CF_LOG(warn, "forward",
           "job " << job_id << " to " << job.destination << ": giving up after " << attempt
                  << " attempts: " << error);
    (void)jobs.finish(job_id, JobState::failed, attempt, now_seconds(), error);
  } else {
    const double delay = backoff_seconds(options.retry, attempt);
    CF_LOG(info, "forward",
           "job " << job_id << ": next attempt in " << std::fixed << std::setprecision(1) << delay
                  << " s");
    (void)jobs.finish(job_id, JobState::pending, attempt, now_seconds() + delay,
                      error.empty() ? permanent : error);
  }
  (void)jobs.release(job_id, owner);
  return true;
}

} // namespace forward
