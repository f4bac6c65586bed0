// SPDX-License-Identifier: GPL-3.0-or-later
#include "commands.hpp"

#include <core/log.hpp>
#include <forward/runner.hpp>
#include <media/export.hpp>
#include <net/echo_scu.hpp>
#include <net/server.hpp>
#include <net/setup.hpp>
#include <store/index.hpp>
#include <web/api.hpp>
#include <web/events.hpp>
#include <web/fetch_jobs.hpp>
#include <web/recording_sink.hpp>
#include <web/security.hpp>
#include <web/server.hpp>
#include <web/viewer.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>
#include <systemd/sd-daemon.h>

#include <chrono>
#include <csignal>
#include <functional>
#include <map>
#include <mutex>

namespace app {

namespace {

// A `study` event when instances of a study arrive, at most once a second
// per study (a C-STORE of 500 images is one change for the page).
class StudyNotifier
{
public:
  explicit StudyNotifier(web::EventHub& hub) : m_hub(hub) {}

  void operator()(const store::Ingested& in)
  {
    if (in.duplicate) {
      return;
    }
    const auto now = std::chrono::steady_clock::now();
    {
      std::lock_guard<std::mutex> lock(m_mutex);
      auto& last = m_last[in.study_instance_uid];
      if (now - last < std::chrono::seconds(1)) {
        return;
      }
      last = now;
      if (m_last.size() > 1024) {
        m_last.clear();
      }
    }
    m_hub.publish(
        "study", nlohmann::json{{"study_uid", in.study_instance_uid}, {"change", "stored"}}.dump());
  }

private:
  web::EventHub& m_hub;
  std::mutex m_mutex;
  std::map<std::string, std::chrono::steady_clock::time_point> m_last;
};

} // namespace

int
run_serve(const config::Config& config)
{
  net::setup_network();
  auto intake = open_intake(config);
  if (!intake) {
    return 1;
  }
  CF_LOG(info, "app", "store at " << std::filesystem::absolute(config.storage.path).string());
  forward::Runner runner(*intake->jobs, intake->store->query(), intake->forward);

  web::EventHub hub;
  StudyNotifier notifier(hub);
  // Everything stored (C-STORE, fetch jobs, uploads) tells the page.
  web::RecordingSink sink(*intake->sink, [&notifier](const store::Ingested& in) { notifier(in); });
  auto& store = *intake->store;

  web::FetchOptions fetch_options;
  fetch_options.dir = store.root() / "web" / "fetch-jobs";
  fetch_options.http = http_options(config);
  fetch_options.modules = config.fetch.modules;
  fetch_options.max_running = config.http.max_fetch_jobs;
  web::FetchJobs fetch_jobs(fetch_options, sink, hub);
  web::Guard guard(config.http);
  web::Services services;
  services.config = &config;
  services.query = &store.query();
  services.sink = &sink;
  services.queue = intake->jobs.get();
  services.version = CF_VERSION;
  services.remove = [&store](store::Level level, const std::string& uid) {
    return store.remove(level, uid);
  };
  services.storage = [&store] {
    web::StorageStatus s;
    if (auto u = store.index().usage()) {
      s.used_bytes = u->bytes;
    }
    std::error_code ec;
    const auto space = std::filesystem::space(store.root(), ec);
    s.free_bytes = ec ? 0 : space.available;
    return s;
  };
  services.echo = [&config](const config::Modality& m) -> core::Result<void> {
    const net::StoreTarget target{
        config.node.ae_title,      m.ae_title,         m.host, m.port, config.node.acse_timeout,
        config.node.dimse_timeout, config.node.max_pdu};
    auto rtt = net::echo(target);
    if (!rtt) {
      return rtt.error();
    }
    return {};
  };
  services.export_zip = [&store, &sink](const std::string& study_uid,
                                        const std::function<bool(std::string)>& write) {
    return media::export_zip(store.query(), sink, study_uid, write);
  };
  if (config.http.enabled) {
    if (auto viewer = web::find_viewer(config.http.viewer_dir)) {
      services.viewer = *viewer;
      CF_LOG(info, "app", "viewer at /viewer from " << viewer->string());
    } else if (!config.http.viewer_dir.empty()) {
      CF_LOG(warn, "app",
             "http.viewer_dir " << config.http.viewer_dir << " holds no index.html; no viewer");
    }
  }
  web::Api api(services, fetch_jobs, hub, guard);

  // The daemon's one event loop: signals, the forwarding queue's timer and
  // the HTTP side. DICOM associations run on the server's threads,
  // forwarding jobs on the runner's, fetch jobs on their own, HTTP routes
  // on the web server's pool.
  boost::asio::io_context io;
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  boost::asio::steady_timer queue_timer(io);
  std::function<void()> schedule_poll = [&] {
    queue_timer.expires_after(std::chrono::seconds(1));
    queue_timer.async_wait([&](const boost::system::error_code& ec) {
      if (ec) {
        return;
      }
      runner.poll();
      api.poll_queue();
      schedule_poll();
    });
  };
  schedule_poll();

  std::unique_ptr<web::Server> http;
  if (config.http.enabled) {
    web::ServerOptions wopts;
    wopts.bind = config.http.bind;
    wopts.port = config.http.port;
    wopts.max_upload = static_cast<std::uint64_t>(config.http.max_upload_mb) << 20;
    wopts.spool_path = [&sink] { return sink.spool_path(); };
    http = std::make_unique<web::Server>(io, wopts, api);
    if (auto r = http->start(); !r) {
      std::fprintf(stderr, "cloudfilm: cannot listen: %s\n", r.error().message().c_str());
      return 1;
    }
  }

  net::Server server(server_options(config), sink, store.query());
  if (auto r = server.start(); !r) {
    std::fprintf(stderr, "cloudfilm: cannot listen: %s\n", r.error().message().c_str());
    return 1;
  }
  fetch_jobs.resume();
  auto status = "STATUS=listening on " + config.node.bind + ":" + std::to_string(config.node.port)
                + " as " + config.node.ae_title;
  if (http) {
    status += ", HTTP on " + config.http.bind + ":" + std::to_string(http->port());
  }
  sd_notify(0, ("READY=1\n" + status).c_str());

  signals.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (ec) {
      return;
    }
    CF_LOG(info, "app",
           "signal " << signal << ": stopping (running associations get "
                     << config.node.shutdown_grace << " s)");
    sd_notify(0, "STOPPING=1");
    queue_timer.cancel();
    if (http) {
      http->stop();
    }
    server.stop();
  });
  io.run();
  fetch_jobs.stop(); // running downloads stop; their records say `interrupted`
  runner.stop();     // running jobs stop after their current instance; the rest stays queued
  server.wait();
  CF_LOG(info, "app", "stopped");
  return 0;
}

} // namespace app
