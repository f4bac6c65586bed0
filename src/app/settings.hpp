// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <config/config.hpp>
#include <forward/forwarding_sink.hpp>
#include <forward/job_store.hpp>
#include <forward/options.hpp>
#include <http/client.hpp>
#include <net/server.hpp>
#include <store/store.hpp>

#include <optional>
#include <string>

namespace app {

// Options every command shares.
struct CommonOptions
{
  std::string config_file; // --config, else $CLOUDFILM_CONFIG, else the embedded default
  std::string data_dir;    // --data: overrides storage.path
  std::optional<int> port; // serve --port
  bool verbose = false;
  // Commands other than serve report problems themselves; DCMTK's parser
  // messages about non-DICOM files would only confuse, unless --verbose.
  bool quiet_dcmtk = false;
};

// Load the configuration per `common` and apply the overrides; sets up
// logging and DCMTK. Throws config::ConfigError.
config::Config load_settings(const CommonOptions& common);

store::Options store_options(const config::Config& config);
net::ServerOptions server_options(const config::Config& config);
forward::Options forward_options(const config::Config& config);
// The libcurl client of cloud-film downloads (fetch and the page's jobs).
http::Options http_options(const config::Config& config);

// Open the store, or print one error line and return nullptr.
std::unique_ptr<store::Store> open_store(const config::Config& config);

// The store with the forwarding rules in front of it: what serve, import and
// fetch ingest through.
struct Intake
{
  std::unique_ptr<store::Store> store;
  std::unique_ptr<forward::JobStore> jobs;
  forward::Options forward;
  std::unique_ptr<forward::ForwardingSink> sink;
};

// Or print one error line and return nullptr.
std::unique_ptr<Intake> open_intake(const config::Config& config);

} // namespace app
