// SPDX-License-Identifier: GPL-3.0-or-later
// The routes of the HTTP side (docs/api.md), Beast-free: a Request in, a
// Response out. Called on worker threads, never on the event loop.
#pragma once

#include "message.hpp"

#include <config/config.hpp>
#include <core/result.hpp>
#include <store/find.hpp>
#include <store/ingest.hpp>
#include <store/query.hpp>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <string>

namespace forward {
class JobStore;
}

namespace web {

class EventHub;
class FetchJobs;
class Guard;

struct StorageStatus
{
  std::uint64_t used_bytes = 0;
  std::uint64_t free_bytes = 0;
};

// What the routes act on; the daemon wires them to the store, the queue and
// the DICOM side.
struct Services
{
  const config::Config* config = nullptr;
  store::Query* query = nullptr;
  store::IngestSink* sink = nullptr;
  forward::JobStore* queue = nullptr;
  std::function<core::Result<std::size_t>(store::Level, const std::string&)> remove;
  std::function<StorageStatus()> storage;
  std::function<core::Result<void>(const config::Modality&)> echo;
  // Write the study as a zip with a DICOMDIR; false from the writer stops it.
  std::function<core::Result<void>(const std::string& study_uid,
                                   const std::function<bool(std::string)>& write)>
      export_zip;
  std::string version;
  std::filesystem::path viewer; // OHIF dist folder; empty: no viewer
};

class Api
{
public:
  Api(Services services, FetchJobs& fetch, EventHub& events, Guard& guard);

  // True for requests whose body is an upload (streamed to a spool file).
  static bool is_upload(const std::string& method, const std::string& path);

  // Never throws.
  Response handle(Request& request);

  // Publish `queue` events for forwarding jobs that changed since the last
  // call (the daemon calls it from its queue timer).
  void poll_queue();

  // Counters for /metrics.
  void count_response(int status);

private:
  Response route(Request& request);
  Response page(const Request& request);
  Response system();
  Response metrics();
  Response studies(const Request& request);
  Response study(const std::string& uid);
  Response series(const std::string& uid);
  Response instance(const std::string& uid);
  Response instance_file(const std::string& uid);
  Response archive(const std::string& uid);
  Response remove(store::Level level, const std::string& uid);
  Response upload(const Request& request);
  Response send(const Request& request, const std::string& study_uid);
  Response fetch_start(const Request& request);
  Response fetch_retry(const Request& request, const std::string& id);
  Response modalities();
  Response echo(const std::string& name);
  Response queue_list();
  Response queue_action(const std::string& id, bool retry);

  Services m_services;
  FetchJobs& m_fetch;
  EventHub& m_events;
  Guard& m_guard;
  std::mutex m_queue_mutex;
  std::map<long, std::string> m_queue_seen; // job id -> last published JSON
  std::mutex m_metrics_mutex;
  std::map<int, std::uint64_t> m_responses; // status -> count
  std::atomic<std::uint64_t> m_uploads{0};
};

} // namespace web
