// SPDX-License-Identifier: GPL-3.0-or-later
#include "runner.hpp"

#include "sender.hpp"

#include <core/log.hpp>

#include <unistd.h>

#include <cerrno>
#include <csignal>

namespace forward {

Runner::Runner(JobStore& jobs, store::Query& query, const Options& options)
    : m_jobs(jobs), m_query(query), m_options(options), m_owner("pid-" + std::to_string(::getpid()))
{
}

Runner::~Runner() { stop(); }

void
Runner::reap()
{
  for (auto it = m_running.begin(); it != m_running.end();) {
    if (it->second.finished->load()) {
      it->second.thread.join();
      it = m_running.erase(it);
    } else {
      ++it;
    }
  }
}

bool
Runner::busy()
{
  reap();
  return !m_running.empty();
}

namespace {

// Leases are named "<role>-<pid>" by the processes on this machine that run
// jobs; a lease of a process that no longer exists (kill -9, crash) is
// released at once instead of waiting for it to expire.
bool
owner_is_dead(const std::string& owner)
{
  const auto dash = owner.rfind('-');
  if (dash == std::string::npos) {
    return false;
  }
  try {
    const auto pid = static_cast<pid_t>(std::stol(owner.substr(dash + 1)));
    return pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH;
  } catch (const std::exception&) {
    return false;
  }
}

} // namespace

void
Runner::poll()
{
  reap();
  if (m_stop) {
    return;
  }
  if (auto leases = m_jobs.leases(now_seconds())) {
    for (const auto& [id, owner] : *leases) {
      if (owner != m_owner && owner_is_dead(owner)) {
        CF_LOG(info, "forward",
               "job " << id << ": releasing the lease of " << owner << ", which is gone");
        (void)m_jobs.release(id, owner);
      }
    }
  }
  auto due = m_jobs.due(now_seconds());
  if (!due) {
    CF_LOG(warn, "forward", "cannot read the queue: " << due.error().message());
    return;
  }
  for (const auto& job : *due) {
    if (m_running.count(job.destination) > 0) {
      continue; // one job per destination at a time
    }
    auto finished = std::make_shared<std::atomic<bool>>(false);
    const long id = job.id;
    std::thread t([this, id, finished] {
      try {
        run_attempt(m_jobs, m_query, m_options, id, m_owner, m_stop);
      } catch (const std::exception& e) {
        CF_LOG(error, "forward", "job " << id << ": " << e.what());
      }
      finished->store(true);
    });
    m_running.emplace(job.destination, Running{std::move(t), finished});
  }
}

void
Runner::stop()
{
  m_stop = true;
  for (auto& [dest, running] : m_running) {
    if (running.thread.joinable()) {
      running.thread.join();
    }
  }
  m_running.clear();
}

} // namespace forward
