// SPDX-License-Identifier: GPL-3.0-or-later
#include "runner.hpp"

#include "sender.hpp"

#include <core/log.hpp>

#include <unistd.h>

namespace forward {

Runner::Runner(JobStore& jobs, store::Query& query, const Options& options)
  : m_jobs(jobs), m_query(query), m_options(options),
    m_owner("pid-" + std::to_string(::getpid()))
{
}

Runner::~Runner()
{
  stop();
}

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

void
Runner::poll()
{
  reap();
  if (m_stop) {
    return;
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
