// SPDX-License-Identifier: GPL-3.0-or-later
#include "commands.hpp"

#include <core/log.hpp>
#include <forward/runner.hpp>
#include <net/server.hpp>
#include <net/setup.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <systemd/sd-daemon.h>

#include <csignal>
#include <functional>

namespace app {

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

  // The daemon's one event loop: signals and the forwarding queue's timer
  // now, the HTTP API later. DICOM associations run on the server's threads,
  // forwarding jobs on the runner's.
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
      schedule_poll();
    });
  };
  schedule_poll();

  net::Server server(server_options(config), *intake->sink, intake->store->query());
  if (auto r = server.start(); !r) {
    std::fprintf(stderr, "cloudfilm: cannot listen: %s\n", r.error().message().c_str());
    return 1;
  }
  const auto status = "STATUS=listening on " + config.node.bind + ":"
                      + std::to_string(config.node.port) + " as " + config.node.ae_title;
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
    server.stop();
  });
  io.run();
  runner.stop(); // running jobs stop after their current instance; the rest stays queued
  server.wait();
  CF_LOG(info, "app", "stopped");
  return 0;
}

} // namespace app
