// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "job_store.hpp"
#include "options.hpp"

#include <atomic>
#include <map>
#include <string>
#include <thread>

namespace store {
class Query;
}

namespace forward {

// Drains the queue inside a long-running process: poll() (from the daemon's
// event loop, every second or so) starts each due job on its own thread, one
// job per destination at a time. Jobs queued by other processes (`cloudfilm
// send`) are picked up the same way.
class Runner
{
public:
  Runner(JobStore& jobs, store::Query& query, const Options& options);
  ~Runner(); // stop()

  void poll();
  // Ask running jobs to stop after their current instance and join them.
  void stop();
  // True while a job thread runs.
  bool busy();

private:
  void reap();

  JobStore& m_jobs;
  store::Query& m_query;
  const Options& m_options;
  std::string m_owner;
  std::atomic<bool> m_stop{false};
  struct Running
  {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> finished;
  };
  std::map<std::string, Running> m_running; // by destination
};

} // namespace forward
