// SPDX-License-Identifier: GPL-3.0-or-later
#include "settings.hpp"

#include <core/log.hpp>
#include <dicom/codecs.hpp>
#include <dicom/setup.hpp>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <cstdio>
#include <cstdlib>

namespace app {

namespace {

net::Service
service_of(const std::string& name)
{
  if (name == "store") {
    return net::Service::store;
  }
  if (name == "find") {
    return net::Service::find;
  }
  if (name == "get") {
    return net::Service::get;
  }
  if (name == "move") {
    return net::Service::move;
  }
  return net::Service::echo; // config::parse accepts nothing else
}

// The IPv4 addresses a modality's host names: itself when it is one, else
// what the resolver says now (looked up once, at start).
std::vector<std::string>
ipv4_addresses(const std::string& host)
{
  in_addr literal{};
  if (::inet_pton(AF_INET, host.c_str(), &literal) == 1) {
    return {host};
  }
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  std::vector<std::string> out;
  if (::getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0) {
    return out;
  }
  for (auto* a = found; a != nullptr; a = a->ai_next) {
    char text[INET_ADDRSTRLEN] = "";
    const auto* sin = reinterpret_cast<const sockaddr_in*>(a->ai_addr);
    if (::inet_ntop(AF_INET, &sin->sin_addr, text, sizeof(text)) != nullptr) {
      out.emplace_back(text);
    }
  }
  ::freeaddrinfo(found);
  return out;
}

} // namespace

config::Config
load_settings(const CommonOptions& common)
{
  std::string file = common.config_file;
  if (file.empty()) {
    if (const char* env = std::getenv("CLOUDFILM_CONFIG"); env != nullptr) {
      file = env;
    }
  }
  config::Config cfg = file.empty() ? config::Config{} : config::load(file);
  if (!common.data_dir.empty()) {
    cfg.storage.path = common.data_dir;
  }
  if (common.port) {
    if (*common.port < 1 || *common.port > 65535) {
      throw config::ConfigError("--port: " + std::to_string(*common.port)
                                + " is out of range [1, 65535]");
    }
    cfg.node.port = *common.port;
  }
  core::log::Level level = core::log::Level::info;
  core::log::parse_level(cfg.log.level, level);
  if (common.verbose) {
    level = core::log::Level::debug;
  }
  core::log::set_level(level);
  core::log::Level dcmtk_level = core::log::Level::warn;
  core::log::parse_level(cfg.log.dcmtk_level, dcmtk_level);
  // -v raises our own messages only: DCMTK's debug output dumps whole
  // datasets, patient names included. Ask for it by name (log.dcmtk_level).
  if (common.quiet_dcmtk) {
    dcmtk_level = core::log::Level::off;
  }
  if (auto r = dicom::setup_dcmtk(dcmtk_level); !r) {
    throw config::ConfigError(r.error().message());
  }
  dicom::register_codecs();
  return cfg;
}

store::Options
store_options(const config::Config& config)
{
  store::Options o;
  o.root = config.storage.path;
  switch (config.storage.duplicates) {
  case config::DuplicatePolicy::keep_first:
    o.duplicates = store::DuplicatePolicy::keep_first;
    break;
  case config::DuplicatePolicy::replace:
    o.duplicates = store::DuplicatePolicy::replace;
    break;
  case config::DuplicatePolicy::reject:
    o.duplicates = store::DuplicatePolicy::reject;
    break;
  }
  o.fallback_charset = config.storage.fallback_charset;
  o.sync = config.storage.fsync;
  o.max_bytes = static_cast<std::uint64_t>(config.storage.max_size_mb) << 20;
  o.max_studies = config.storage.max_studies;
  o.recycle = config.storage.recycle;
  o.min_free_bytes = static_cast<std::uint64_t>(config.storage.min_free_mb) << 20;
  return o;
}

net::ServerOptions
server_options(const config::Config& config)
{
  net::ServerOptions o;
  const auto& n = config.node;
  o.ae_title = n.ae_title;
  o.bind = n.bind;
  o.port = n.port;
  o.max_associations = n.max_associations;
  o.max_pdu = n.max_pdu;
  o.acse_timeout = n.acse_timeout;
  o.first_pdu_timeout = n.first_pdu_timeout;
  o.dimse_timeout = n.dimse_timeout;
  o.idle_timeout = n.idle_timeout;
  o.shutdown_grace = n.shutdown_grace;
  o.check_called_ae = n.check_called_ae;
  for (const auto& p : n.allowed_peers) {
    o.allowed_peers.push_back({p.ae_title, p.host});
  }
  o.response_charsets = n.response_charsets;
  o.access.trust_loopback = n.trust_loopback;
  o.access.store_from_anyone = n.accept_store_from_anyone;
  o.move_to_unknown_caller = n.move_to_unknown_caller;
  for (const auto& [name, m] : config.modalities) {
    if (m.reachable()) {
      o.destinations.push_back({m.ae_title, m.host, m.port});
    }
    net::ListedPeer peer{name, m.ae_title, {}, static_cast<unsigned>(net::Service::echo)};
    for (const auto& service : m.allow) {
      peer.services |= static_cast<unsigned>(service_of(service));
    }
    if (!m.host.empty()) {
      peer.hosts = ipv4_addresses(m.host);
      if (peer.hosts.empty()) {
        CF_LOG(warn, "net",
               "modalities." << name << ".host '" << m.host
                             << "' does not resolve to an IPv4 address; " << m.ae_title
                             << " gets echo only until it does");
      }
    }
    o.access.peers.push_back(std::move(peer));
  }
  o.fallback_charset = config.storage.fallback_charset;
  return o;
}

forward::Options
forward_options(const config::Config& config)
{
  forward::Options o;
  o.our_ae_title = config.node.ae_title;
  for (const auto& [name, m] : config.modalities) {
    o.destinations.push_back({name, m.ae_title, m.host, m.port});
  }
  for (const auto& r : config.forward.rules) {
    o.rules.push_back({r.to, r.sources, r.calling_aes, r.modalities});
  }
  o.retry = {config.forward.max_attempts, config.forward.initial_delay, config.forward.max_delay};
  o.batch_delay = config.forward.batch_delay;
  o.acse_timeout = config.node.acse_timeout;
  o.dimse_timeout = config.node.dimse_timeout;
  o.max_pdu = config.node.max_pdu;
  return o;
}

std::unique_ptr<store::Store>
open_store(const config::Config& config)
{
  auto st = store::Store::open(store_options(config));
  if (!st) {
    std::fprintf(stderr, "cloudfilm: cannot open the store at %s: %s\n",
                 config.storage.path.c_str(), st.error().message().c_str());
    return nullptr;
  }
  return std::move(*st);
}

http::Options
http_options(const config::Config& config)
{
  http::Options o;
  o.max_per_host = config.fetch.max_per_host;
  o.retries = config.fetch.retries;
  o.timeout = std::chrono::seconds(config.fetch.timeout);
  o.idle_timeout = std::chrono::seconds(config.fetch.idle_timeout);
  o.proxy = config.fetch.proxy;
  o.resolve = config.fetch.resolve;
  return o;
}

std::unique_ptr<Intake>
open_intake(const config::Config& config)
{
  auto intake = std::make_unique<Intake>();
  intake->store = open_store(config);
  if (!intake->store) {
    return nullptr;
  }
  auto jobs = forward::JobStore::open(config.storage.path / "index.sqlite");
  if (!jobs) {
    std::fprintf(stderr, "cloudfilm: %s\n", jobs.error().message().c_str());
    return nullptr;
  }
  intake->jobs = std::move(*jobs);
  intake->forward = forward_options(config);
  intake->sink =
      std::make_unique<forward::ForwardingSink>(*intake->store, *intake->jobs, intake->forward);
  return intake;
}

} // namespace app
