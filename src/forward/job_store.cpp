// SPDX-License-Identifier: GPL-3.0-or-later
#include "job_store.hpp"

#include "errors.hpp"

#include <core/sqlite.hpp>
#include <core/time.hpp>

namespace forward {

namespace {

constexpr const char* k_schema = R"SQL(
CREATE TABLE IF NOT EXISTS forward_jobs(
  id INTEGER PRIMARY KEY,
  destination TEXT NOT NULL,
  reason TEXT NOT NULL,
  study_uid TEXT NOT NULL,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt REAL NOT NULL,
  last_error TEXT NOT NULL DEFAULT '',
  lease_owner TEXT NOT NULL DEFAULT '',
  lease_until REAL NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS forward_jobs_due ON forward_jobs(state, next_attempt);
CREATE TABLE IF NOT EXISTS forward_items(
  job_id INTEGER NOT NULL REFERENCES forward_jobs(id) ON DELETE CASCADE,
  sop_uid TEXT NOT NULL,
  state TEXT NOT NULL,
  status INTEGER,
  error TEXT NOT NULL DEFAULT '',
  PRIMARY KEY(job_id, sop_uid));
-- Also created by the index: instances stored but not yet queued.
CREATE TABLE IF NOT EXISTS unqueued(sop_uid TEXT PRIMARY KEY);
)SQL";

core::Error
queue_error(const std::exception& e)
{
  return core::make_error(Errc::queue_failed, e.what());
}

JobState
job_state(const std::string& s)
{
  if (s == "done") {
    return JobState::done;
  }
  if (s == "failed") {
    return JobState::failed;
  }
  if (s == "cancelled") {
    return JobState::cancelled;
  }
  return JobState::pending;
}

constexpr const char* k_summary_select = R"SQL(
  SELECT j.id, j.destination, j.reason, j.study_uid, j.state, j.attempts, j.next_attempt,
         j.last_error, j.created_at,
         (SELECT count(*) FROM forward_items WHERE job_id = j.id AND state = 'pending'),
         (SELECT count(*) FROM forward_items WHERE job_id = j.id AND state = 'done'),
         (SELECT count(*) FROM forward_items WHERE job_id = j.id AND state = 'warning'),
         (SELECT count(*) FROM forward_items WHERE job_id = j.id AND state = 'failed')
  FROM forward_jobs j )SQL";

JobSummary
read_summary(core::sqlite::Stmt& q)
{
  JobSummary s;
  s.id = static_cast<long>(q.int64(0));
  s.destination = q.text(1);
  s.reason = q.text(2);
  s.study_uid = q.text(3);
  s.state = job_state(q.text(4));
  s.attempts = static_cast<int>(q.int64(5));
  s.next_attempt = q.real(6);
  s.last_error = q.text(7);
  s.created_at = q.text(8);
  s.pending = static_cast<long>(q.int64(9));
  s.done = static_cast<long>(q.int64(10));
  s.warning = static_cast<long>(q.int64(11));
  s.failed = static_cast<long>(q.int64(12));
  return s;
}

} // namespace

double
now_seconds()
{
  return core::unix_seconds();
}

const char*
to_string(JobState state)
{
  switch (state) {
  case JobState::pending:
    return "pending";
  case JobState::done:
    return "done";
  case JobState::failed:
    return "failed";
  case JobState::cancelled:
    return "cancelled";
  }
  return "?";
}

const char*
to_string(ItemState state)
{
  switch (state) {
  case ItemState::pending:
    return "pending";
  case ItemState::done:
    return "done";
  case ItemState::warning:
    return "warning";
  case ItemState::failed:
    return "failed";
  }
  return "?";
}

JobStore::JobStore(std::unique_ptr<core::sqlite::Db> db) : m_db(std::move(db)) {}

JobStore::~JobStore() = default;

core::Result<std::unique_ptr<JobStore>>
JobStore::open(const std::filesystem::path& database)
{
  try {
    auto db = std::make_unique<core::sqlite::Db>(database);
    db->exec(k_schema);
    return std::unique_ptr<JobStore>(new JobStore(std::move(db)));
  } catch (const std::exception& e) {
    return queue_error(e);
  }
}

core::Result<long>
JobStore::create(const std::string& destination, const std::string& reason,
                 const std::string& study_uid, const std::vector<std::string>& sop_uids)
{
  std::lock_guard<std::mutex> lock(m_mutex);
  try {
    core::sqlite::Transaction tx(*m_db);
    auto& ins = m_db->stmt("INSERT INTO forward_jobs(destination, reason, study_uid, state, "
                           "next_attempt, created_at) VALUES(?,?,?,'pending',?,?)");
    {
      core::sqlite::Resetter r{ins};
      ins.bind(1, destination)
          .bind(2, reason)
          .bind(3, study_uid)
          .bind(4, now_seconds())
          .bind(5, core::utc_timestamp());
      ins.step();
    }
    const auto id = static_cast<long>(m_db->last_insert_id());
    auto& item = m_db->stmt(
        "INSERT OR IGNORE INTO forward_items(job_id, sop_uid, state) VALUES(?,?,'pending')");
    for (const auto& sop : sop_uids) {
      core::sqlite::Resetter r{item};
      item.bind(1, static_cast<std::int64_t>(id)).bind(2, sop);
      item.step();
    }
    tx.commit();
    return id;
  } catch (const std::exception& e) {
    return queue_error(e);
  }
}

core::Result<void>
JobStore::enqueue(const std::string& destination, const std::string& study_uid,
                  const std::string& sop_uid, int delay)
{
  std::lock_guard<std::mutex> lock(m_mutex);
  try {
    core::sqlite::Transaction tx(*m_db);
    add_to_rule_job(destination, study_uid, sop_uid, delay);
    tx.commit();
    return {};
  } catch (const std::exception& e) {
    return queue_error(e);
  }
}

core::Result<void>
JobStore::enqueue_stored(const std::vector<std::string>& destinations, const std::string& study_uid,
                         const std::string& sop_uid, int delay)
{
  std::lock_guard<std::mutex> lock(m_mutex);
  try {
    core::sqlite::Transaction tx(*m_db);
    for (const auto& destination : destinations) {
      add_to_rule_job(destination, study_uid, sop_uid, delay);
    }
    auto& done = m_db->stmt("DELETE FROM unqueued WHERE sop_uid = ?");
    {
      core::sqlite::Resetter r{done};
      done.bind(1, sop_uid);
      done.step();
    }
    tx.commit();
    return {};
  } catch (const std::exception& e) {
    return queue_error(e);
  }
}

core::Result<std::vector<Unqueued>>
JobStore::unqueued()
{
  std::lock_guard<std::mutex> lock(m_mutex);
  try {
    std::vector<Unqueued> out;
    // A note whose instance has gone (removed since) matches no row here;
    // remove() deletes the note with the row anyway.
    auto& q =
        m_db->stmt("SELECT u.sop_uid, st.study_uid, i.origin_kind, i.origin_peer, s.modality "
                   "FROM unqueued u JOIN instances i ON i.sop_uid = u.sop_uid "
                   "JOIN series s ON s.id = i.series_fk JOIN studies st ON st.id = s.study_fk "
                   "ORDER BY i.id");
    core::sqlite::Resetter r{q};
    while (q.step()) {
      Unqueued u;
      u.sop_uid = q.text(0);
      u.study_uid = q.text(1);
      const auto kind = q.text(2);
      u.origin.kind = kind == "dimse"    ? store::Origin::Kind::dimse
                      : kind == "source" ? store::Origin::Kind::source
                                         : store::Origin::Kind::import;
      u.origin.peer = q.text(3);
      u.modality = q.text(4);
      out.push_back(std::move(u));
    }
    return out;
  } catch (const std::exception& e) {
    return queue_error(e);
  }
}

// Inside the caller's transaction, with m_mutex held.
void
JobStore::add_to_rule_job(const std::string& destination, const std::string& study_uid,
                          const std::string& sop_uid, int delay)
{
  const double due = now_seconds() + delay;
  // An open rule job is one that is still pending and has not been
  // attempted yet; later instances of the study join it.
  auto& find = m_db->stmt("SELECT id FROM forward_jobs WHERE destination = ? AND study_uid = ? "
                          "AND reason = 'rule' AND state = 'pending' AND attempts = 0 "
                          "AND lease_owner = '' ORDER BY id DESC LIMIT 1");
  std::int64_t id = 0;
  {
    core::sqlite::Resetter r{find};
    find.bind(1, destination).bind(2, study_uid);
    if (find.step()) {
      id = find.int64(0);
    }
  }
  if (id == 0) {
    auto& ins = m_db->stmt("INSERT INTO forward_jobs(destination, reason, study_uid, state, "
                           "next_attempt, created_at) VALUES(?, 'rule', ?, 'pending', ?, ?)");
    core::sqlite::Resetter r{ins};
    ins.bind(1, destination).bind(2, study_uid).bind(3, due).bind(4, core::utc_timestamp());
    ins.step();
    id = m_db->last_insert_id();
  } else {
    auto& upd = m_db->stmt("UPDATE forward_jobs SET next_attempt = ? WHERE id = ?");
    core::sqlite::Resetter r{upd};
    upd.bind(1, due).bind(2, id);
    upd.step();
  }
  auto& item = m_db->stmt(
      "INSERT OR IGNORE INTO forward_items(job_id, sop_uid, state) VALUES(?,?,'pending')");
  {
    core::sqlite::Resetter r{item};
    item.bind(1, id).bind(2, sop_uid);
    item.step();
  }
}

core::Result<std::vector<JobSummary>>
JobStore::list()
{
  std::lock_guard<std::mutex> lock(m_mutex);
  try {
    std::vector<JobSummary> out;
    auto& q = m_db->stmt(std::string(k_summary_select) + "ORDER BY j.id");
    core::sqlite::Resetter r{q};
    while (q.step()) {
      out.push_back(read_summary(q));
    }
    return out;
  } catch (const std::exception& e) {
    return queue_error(e);
  }
}

core::Result<std::optional<JobSummary>>
JobStore::job(long id)
{
  std::lock_guard<std::mutex> lock(m_mutex);
  try {
    auto& q = m_db->stmt(std::string(k_summary_select) + "WHERE j.id = ?");
    core::sqlite::Resetter r{q};
    q.bind(1, static_cast<std::int64_t>(id));
    if (q.step()) {
      return std::optional<JobSummary>(read_summary(q));
    }
    return std::optional<JobSummary>();
  } catch (const std::exception& e) {
    return queue_error(e);
  }
}

core::Result<std::vector<JobSummary>>
JobStore::due(double now)
{
  std::lock_guard<std::mutex> lock(m_mutex);
  try {
    std::vector<JobSummary> out;
    auto& q =
        m_db->stmt(std::string(k_summary_select)
                   + "WHERE j.state = 'pending' AND j.next_attempt <= ? AND j.lease_until < ? "
                     "ORDER BY j.next_attempt, j.id");
    core::sqlite::Resetter r{q};
    q.bind(1, now).bind(2, now);
    while (q.step()) {
      out.push_back(read_summary(q));
    }
    return out;
  } catch (const std::exception& e) {
    return queue_error(e);
  }
}

core::Result<bool>
JobStore::claim(long id, const std::string& owner, double now, int seconds)
{
  std::lock_guard<std::mutex> lock(m_mutex);
  try {
    auto& q = m_db->stmt("UPDATE forward_jobs SET lease_owner = ?, lease_until = ? WHERE id = ? "
                         "AND (lease_until < ? OR lease_owner = ?)");
    core::sqlite::Resetter r{q};
    q.bind(1, owner)
        .bind(2, now + seconds)
        .bind(3, static_cast<std::int64_t>(id))
        .bind(4, now)
        .bind(5, owner);
    q.step();
    return m_db->changes() > 0;
  } catch (const std::exception& e) {
    return queue_error(e);
  }
}

core::Result<void>
JobStore::release(long id, const std::string& owner)
{
  std::lock_guard<std::mutex> lock(m_mutex);
  try {
    auto& q = m_db->stmt("UPDATE forward_jobs SET lease_owner = '', lease_until = 0 WHERE id = ? "
                         "AND lease_owner = ?");
    core::sqlite::Resetter r{q};
    q.bind(1, static_cast<std::int64_t>(id)).bind(2, owner);
    q.step();
    return {};
  } catch (const std::exception& e) {
    return queue_error(e);
  }
}

core::Result<std::vector<std::pair<long, std::string>>>
JobStore::leases(double now)
{
  std::lock_guard<std::mutex> lock(m_mutex);
  try {
    std::vector<std::pair<long, std::string>> out;
    auto& q = m_db->stmt("SELECT id, lease_owner FROM forward_jobs WHERE state = 'pending' "
                         "AND lease_owner != '' AND lease_until >= ?");
    core::sqlite::Resetter r{q};
    q.bind(1, now);
    while (q.step()) {
      out.emplace_back(static_cast<long>(q.int64(0)), q.text(1));
    }
    return out;
  } catch (const std::exception& e) {
    return queue_error(e);
  }
}

core::Result<std::vector<std::string>>
JobStore::pending_items(long id)
{
  std::lock_guard<std::mutex> lock(m_mutex);
  try {
    std::vector<std::string> out;
    auto& q = m_db->stmt("SELECT sop_uid FROM forward_items WHERE job_id = ? AND state = 'pending' "
                         "ORDER BY rowid");
    core::sqlite::Resetter r{q};
    q.bind(1, static_cast<std::int64_t>(id));
    while (q.step()) {
      out.push_back(q.text(0));
    }
    return out;
  } catch (const std::exception& e) {
    return queue_error(e);
  }
}

core::Result<void>
JobStore::record(long id, const std::string& sop_uid, ItemState state, int status,
                 const std::string& error)
{
  std::lock_guard<std::mutex> lock(m_mutex);
  try {
    auto& q =
        m_db->stmt("UPDATE forward_items SET state = ?, status = ?, error = ? WHERE job_id = ? "
                   "AND sop_uid = ?");
    core::sqlite::Resetter r{q};
    q.bind(1, std::string(to_string(state)))
        .bind(2, static_cast<std::int64_t>(status))
        .bind(3, error)
        .bind(4, static_cast<std::int64_t>(id))
        .bind(5, sop_uid);
    q.step();
    return {};
  } catch (const std::exception& e) {
    return queue_error(e);
  }
}

core::Result<void>
JobStore::finish(long id, JobState state, int attempts, double next_attempt,
                 const std::string& last_error)
{
  std::lock_guard<std::mutex> lock(m_mutex);
  try {
    auto& q = m_db->stmt("UPDATE forward_jobs SET state = ?, attempts = ?, next_attempt = ?, "
                         "last_error = ? WHERE id = ? AND state = 'pending'");
    core::sqlite::Resetter r{q};
    q.bind(1, std::string(to_string(state)))
        .bind(2, static_cast<std::int64_t>(attempts))
        .bind(3, next_attempt)
        .bind(4, last_error)
        .bind(5, static_cast<std::int64_t>(id));
    q.step();
    return {};
  } catch (const std::exception& e) {
    return queue_error(e);
  }
}

core::Result<bool>
JobStore::retry(long id)
{
  std::lock_guard<std::mutex> lock(m_mutex);
  try {
    core::sqlite::Transaction tx(*m_db);
    auto& job =
        m_db->stmt("UPDATE forward_jobs SET state = 'pending', attempts = 0, next_attempt = ?, "
                   "last_error = '' WHERE id = ?");
    {
      core::sqlite::Resetter r{job};
      job.bind(1, now_seconds()).bind(2, static_cast<std::int64_t>(id));
      job.step();
    }
    if (m_db->changes() == 0) {
      return false;
    }
    auto& items = m_db->stmt(
        "UPDATE forward_items SET state = 'pending' WHERE job_id = ? AND state = 'failed'");
    {
      core::sqlite::Resetter r{items};
      items.bind(1, static_cast<std::int64_t>(id));
      items.step();
    }
    tx.commit();
    return true;
  } catch (const std::exception& e) {
    return queue_error(e);
  }
}

core::Result<bool>
JobStore::cancel(long id)
{
  std::lock_guard<std::mutex> lock(m_mutex);
  try {
    auto& q = m_db->stmt(
        "UPDATE forward_jobs SET state = 'cancelled' WHERE id = ? AND state = 'pending'");
    core::sqlite::Resetter r{q};
    q.bind(1, static_cast<std::int64_t>(id));
    q.step();
    return m_db->changes() > 0;
  } catch (const std::exception& e) {
    return queue_error(e);
  }
}

} // namespace forward
