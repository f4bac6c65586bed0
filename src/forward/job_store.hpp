// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <core/result.hpp>
#include <store/ingest.hpp>

#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace core::sqlite {
class Db;
}

// The durable forwarding queue, in the store's SQLite database: one job per
// destination and batch, one row per instance with its own outcome, so a
// restarted or retried job never resends what was delivered. Several
// processes (the node, `cloudfilm send --wait`) share it through leases.
// Thread-safe.
namespace forward {

enum class JobState { pending, done, failed, cancelled };
enum class ItemState { pending, done, warning, failed };

const char* to_string(JobState state);
const char* to_string(ItemState state);

struct JobSummary
{
  long id = 0;
  std::string destination;
  std::string reason; // "send" or "rule"
  std::string study_uid;
  JobState state = JobState::pending;
  int attempts = 0;
  double next_attempt = 0; // unix seconds
  std::string last_error;
  std::string created_at;
  long pending = 0;
  long done = 0;
  long warning = 0;
  long failed = 0;
};

// An instance stored with Origin::mark_unqueued whose queueing did not
// happen (the process failed or died in between).
struct Unqueued
{
  std::string sop_uid;
  std::string study_uid;
  store::Origin origin;
  std::string modality;
};

class JobStore
{
public:
  // Open (create) the queue tables in `database` (the store's index file).
  static core::Result<std::unique_ptr<JobStore>> open(const std::filesystem::path& database);
  ~JobStore();

  // A new pending job for `sop_uids`, due now.
  core::Result<long> create(const std::string& destination, const std::string& reason,
                            const std::string& study_uid, const std::vector<std::string>& sop_uids);

  // Add one instance to the open rule job of (destination, study), creating
  // it if needed; the job becomes due `delay` seconds after its newest item.
  core::Result<void> enqueue(const std::string& destination, const std::string& study_uid,
                             const std::string& sop_uid, int delay);

  // enqueue() for each destination, and delete the instance's `unqueued`
  // note, in one transaction: either it is queued everywhere or the note
  // stays for the next sweep.
  core::Result<void> enqueue_stored(const std::vector<std::string>& destinations,
                                    const std::string& study_uid, const std::string& sop_uid,
                                    int delay);
  // Instances with an `unqueued` note, oldest first.
  core::Result<std::vector<Unqueued>> unqueued();

  core::Result<std::vector<JobSummary>> list();
  core::Result<std::optional<JobSummary>> job(long id);

  // Pending jobs due at `now` whose lease is free.
  core::Result<std::vector<JobSummary>> due(double now);

  // Take or extend the lease of a job for `seconds`; false if another owner
  // holds it.
  core::Result<bool> claim(long id, const std::string& owner, double now, int seconds);
  core::Result<void> release(long id, const std::string& owner);
  // (job, owner) of the leases still running at `now`.
  core::Result<std::vector<std::pair<long, std::string>>> leases(double now);

  core::Result<std::vector<std::string>> pending_items(long id);
  core::Result<void> record(long id, const std::string& sop_uid, ItemState state, int status,
                            const std::string& error);
  // End an attempt: new state, attempt count, next due time, reason.
  core::Result<void> finish(long id, JobState state, int attempts, double next_attempt,
                            const std::string& last_error);

  // Failed items back to pending, attempts reset, due now. False if no job.
  core::Result<bool> retry(long id);
  // Cancel a pending job (items stay as they are). False if no such job.
  core::Result<bool> cancel(long id);

private:
  explicit JobStore(std::unique_ptr<core::sqlite::Db> db);
  void add_to_rule_job(const std::string& destination, const std::string& study_uid,
                       const std::string& sop_uid, int delay);

  std::unique_ptr<core::sqlite::Db> m_db;
  std::mutex m_mutex;
};

double now_seconds();

} // namespace forward
