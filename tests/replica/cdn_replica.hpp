// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "corpus.hpp"
#include "testutil/http_server.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

// Local stand-ins for the whole-file platforms yzhcloud and sugh
// (platforms.md 3.9, 3.10, 8.3.9, 8.3.10): every fixture file is served byte
// for byte the way the platform hands it out, tokens and headers checked.
namespace replica {

enum class CdnPlatform { yzhcloud, sugh };

struct CdnOptions
{
  CdnPlatform platform = CdnPlatform::yzhcloud;
  std::chrono::milliseconds latency{0}; // before every response except /__control/
  bool expired = false;                 // the share is gone
  std::vector<std::string> faults;      // "ROUTE:KIND[:ARG][@CALLS]"
};

// "ROUTE:KIND[:ARG][@CALLS]" split into the route and the fault; throws
// std::runtime_error on a bad spec (shared with the WebSocket replica).
std::pair<std::string, testutil::Fault> parse_fault_spec(const std::string& spec);
// "3", "3-5", "3-", "%4" (every 4th); empty or "*": all.
testutil::Calls parse_calls(const std::string& text);

class CdnReplica
{
public:
  // Listens at once. Throws std::runtime_error on a bad fault spec.
  CdnReplica(Study study, CdnOptions options);
  ~CdnReplica();

  // Ports, host names, share links, route names, instances.
  nlohmann::json info() const;
  // Every server's requests, oldest first.
  nlohmann::json log() const;
  void stop();

private:
  struct Route
  {
    testutil::HttpServer* server;
    std::string pattern;
  };

  void install_yzhcloud();
  void install_sugh();
  void install_control(testutil::HttpServer& server);
  void add_route(testutil::HttpServer& server, const std::string& name, const std::string& method,
                 const std::string& pattern, testutil::Handler handler);
  void add_fault(const std::string& spec);
  void pause() const;
  std::string server_name(const testutil::HttpServer* server) const;

  Study m_study;
  CdnOptions m_options;
  std::chrono::steady_clock::time_point m_start;
  std::map<std::string, std::string> m_bytes; // SOP Instance UID -> file bytes
  std::string m_host;                         // share link host
  std::string m_cdn_host;                     // yzhcloud only
  std::string m_token;                        // sugh share token; yzhcloud org_id
  std::string m_alias_uid;                    // sugh G1 studyUid, != the real one
  std::string m_org;
  int m_junk = 0; // entries the adapter must skip

  std::map<std::string, Route> m_routes;
  std::unique_ptr<testutil::HttpServer> m_main;
  std::unique_ptr<testutil::HttpServer> m_cdn; // yzhcloud only
};

} // namespace replica
