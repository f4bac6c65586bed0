// SPDX-License-Identifier: GPL-3.0-or-later
#include "commands.hpp"

#include <net/server.hpp>
#include <net/setup.hpp>

#include <core/log.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <systemd/sd-daemon.h>

#include <csignal>

namespace app {

int
run_serve(const config::Config& config)
{
  net::setup_network();
  auto st = open_store(config);
  if (!st) {
    return 1;
  }
  CF_LOG(info, "app", "store at " << std::filesystem::absolute(config.storage.path).string());

  // The daemon's one event loop: signals now; timers, the forwarding queue
  // and the HTTP API later. DICOM associations run on the server's threads.
  boost::asio::io_context io;
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);

  net::Server server(server_options(config), *st, st->query());
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
    CF_LOG(info, "app", "signal " << signal << ": stopping (running associations get "
                                  << config.node.shutdown_grace << " s)");
    sd_notify(0, "STOPPING=1");
    server.stop();
  });
  io.run();
  server.wait();
  CF_LOG(info, "app", "stopped");
  return 0;
}

} // namespace app
