// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "corpus.hpp"
#include "testutil/http_server.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

// Local stand-ins for the whole-file platforms shdc, zscloud and mtywcloud
// (platforms.md 3.4, 3.5, 3.8, 8.3.4, 8.3.5, 8.3.8) on one loopback HTTP
// server: signatures checked, answers encrypted, tokens required, and the
// fixture files served byte for byte.
namespace replica {

enum class WholePlatform { shdc, zscloud, mtywcloud };

struct WholeOptions
{
  WholePlatform platform = WholePlatform::shdc;
  std::string host;                     // name in the links handed out; "" = the platform's own
  std::chrono::milliseconds latency{0}; // before every response except /__control/
  std::vector<std::string> faults;      // "ROUTE:KIND[:ARG][@CALLS]"
  bool expired = false;                 // the share expired
  std::string key; // shdc KEY / zscloud config key / mtywcloud key ("" = default)
  std::string iv;  // mtywcloud IV ("" = default)
  std::chrono::milliseconds token_ttl{3600000}; // zscloud access token lifetime
  bool reject_token = false;                    // zscloud: every Bearer token is refused
  bool two_studies = false;                     // zscloud: a second record in the study info
  std::chrono::milliseconds skew{0}; // shdc: accepted clock difference is +-10 min; added to "now"
};

class WholeReplica
{
public:
  // Listens at once. Throws std::runtime_error on a bad fault spec.
  WholeReplica(Study study, WholeOptions options);
  ~WholeReplica();

  nlohmann::json info() const;
  nlohmann::json log() const;
  void stop();

private:
  struct File
  {
    std::string sop_instance_uid; // "" for the junk entry
    std::string series_instance_uid;
    std::string path; // fixture file ("" for junk)
    std::string name; // shdc name / mtywcloud ImagePath
  };

  void install_shdc();
  void install_zscloud();
  void install_mtywcloud();
  void install_control();
  void add_route(const std::string& name, const std::string& method, const std::string& pattern,
                 testutil::Handler handler);
  void add_fault(const std::string& spec);
  testutil::HttpResponse file_response(const File& f, const std::string& content_type) const;
  std::string origin() const;

  Study m_study;
  WholeOptions m_options;
  std::chrono::steady_clock::time_point m_start;
  std::vector<std::vector<File>> m_files; // per listed series (the corpus', then one junk series)
  std::vector<std::string> m_series_uids;
  std::map<std::string, std::string> m_values; // platform identifiers, in info()

  mutable std::mutex m_mutex;
  std::map<std::string, std::chrono::steady_clock::time_point> m_tokens; // zscloud Bearer -> expiry
  long m_counter = 0;

  std::map<std::string, std::string> m_routes; // fault route name -> pattern
  std::unique_ptr<testutil::HttpServer> m_server;
};

} // namespace replica
