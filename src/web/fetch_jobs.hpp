// SPDX-License-Identifier: GPL-3.0-or-later
// Cloud-film downloads started from the HTTP side: each a job with its own
// thread (at most `max_running` at once), its progress published as `fetch`
// events, its record kept on disk so that it survives a restart (the
// password never: a job that needs one waits for it as `interrupted`).
#pragma once

#include <core/result.hpp>
#include <http/client.hpp>
#include <store/ingest.hpp>

#include <condition_variable>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace web {

class EventHub;

struct FetchOptions
{
  std::filesystem::path dir; // job records (mode 0600: they hold the links)
  http::Options http;
  std::map<std::string, std::map<std::string, std::string>> modules; // fetch.modules
  int max_running = 2;
};

class FetchJobs
{
public:
  FetchJobs(FetchOptions options, store::IngestSink& sink, EventHub& hub);
  ~FetchJobs();

  // Load the records of earlier runs: jobs that were running become
  // `interrupted`; those without a password start again.
  void resume();

  // Start a job for a link a platform module recognises (never any other
  // URL: no requests to arbitrary hosts). Errors: source::Errc::unsupported_url.
  core::Result<std::string> start(const std::string& url, const std::string& password);

  // Compact JSON of one job / all jobs, newest first (docs/api.md).
  std::optional<std::string> json(const std::string& id) const;
  std::string list_json() const;

  // Cancel a running or queued job; forget a finished one. False: no such job.
  bool cancel_or_forget(const std::string& id);
  // Run a finished, failed, cancelled or interrupted job again. Errors:
  // store::Errc::not_found, source::Errc::bad_request (still running).
  core::Result<void> retry(const std::string& id, const std::optional<std::string>& password);

  long running() const;

  // Cancel everything and wait for the threads; records stay `interrupted`.
  void stop();

private:
  struct Record;

  void launch(const std::shared_ptr<Record>& job);
  void run(const std::shared_ptr<Record>& job);
  void publish(Record& job, bool force);
  void save(const Record& job) const;
  std::string to_json(const Record& job) const;

  FetchOptions m_options;
  store::IngestSink& m_sink;
  EventHub& m_hub;
  mutable std::mutex m_mutex;
  std::condition_variable m_slot;
  std::map<std::string, std::shared_ptr<Record>> m_jobs;
  std::vector<std::thread> m_threads;
  int m_running = 0;
  bool m_stopping = false;
};

} // namespace web
