// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "corpus.hpp"
#include "testutil/http_server.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

// A local stand-in for the Hinacom "split DICOM" viewer and its cq12320 and
// jdyfy front doors (platforms.md 3.1-3.3, 8.3.1-8.3.3), on two loopback
// HTTP servers: "report" (R) and "viewer" (V).
namespace replica {

enum class Door { hinacom, cq12320, jdyfy };

struct ReplicaOptions
{
  Door door = Door::hinacom;
  std::string host = "test.medicalimagecloud.com"; // name in the URLs we hand out
  std::string password = "1234";
  std::string prefix; // viewer mount point ("/a/b"); cq12320 has its own default
  std::chrono::milliseconds cac_ttl{120000};
  std::chrono::milliseconds latency{0};    // before every response (benchmark)
  bool cancelled = false;                  // the share was cancelled
  bool shuffle_vars = false;               // StudyView's four vars in another order
  bool login_redirect = false;             // answer the password POST with a 302 to the report page
  bool no_hidden_field = false;            // jdyfy: the phone page lost its StudyId field
  bool require_sf_cookie = true;           // cq12320: share check needs SF_cookie_15
  std::optional<std::string> storage_node; // listing's storageNode (null when absent)
  std::vector<std::string> faults;         // "ROUTE:KIND[:ARG][@CALLS]"
};

class Replica
{
public:
  // Starts listening at once. Throws std::runtime_error on a bad fault spec.
  Replica(Study study, ReplicaOptions options);
  ~Replica();

  // What tests need: ports, share link(s), password, ids.
  nlohmann::json info() const;
  // Both servers' requests, oldest first.
  nlohmann::json log() const;
  void stop();

private:
  struct Route
  {
    testutil::HttpServer* server;
    std::string pattern;
  };

  void install_hinacom_door();
  void install_jdyfy_door();
  void install_cq12320_door();
  void install_viewer(testutil::HttpServer& server, bool with_entry);
  void install_control(testutil::HttpServer& server);
  void add_route(testutil::HttpServer& server, const std::string& name, const std::string& method,
                 const std::string& pattern, testutil::Handler handler);
  void add_fault(const std::string& spec);

  std::string report_origin() const;
  std::string viewer_origin() const;
  std::string view_image_url() const;
  std::string entry_url() const;
  std::string studyview_path() const;

  // Cookie checks and issue.
  bool has_viewer_auth(const testutil::HttpRequest& r) const;
  bool has_cac_auth(const testutil::HttpRequest& r) const;
  std::string new_cac_auth();
  std::vector<std::string> viewer_cookies() const;

  testutil::HttpResponse login_page(const testutil::HttpRequest& r);
  testutil::HttpResponse view_image(const testutil::HttpRequest& r);
  testutil::HttpResponse entry(const testutil::HttpRequest& r, const char* var_name);
  testutil::HttpResponse study_view(const testutil::HttpRequest& r);
  testutil::HttpResponse image_set(const testutil::HttpRequest& r);
  testutil::HttpResponse tags(const testutil::HttpRequest& r);
  testutil::HttpResponse pixels(const testutil::HttpRequest& r, bool raw);

  const Instance* find_image(const std::string& image_id) const;

  Study m_study;
  ReplicaOptions m_options;
  std::chrono::steady_clock::time_point m_start;

  // Identifiers, all hashes of the Study Instance UID.
  std::string m_share_id;  // /t/<32 hex>
  std::string m_uuid;      // report page's last path segment
  std::string m_sid;       // /Study/ViewImage?studyId=
  std::string m_token;     // entry token (base64, has '/', '+' or '=')
  std::string m_cache_key; // LOAD_IMAGE_CACHE_KEY, the pixel routes' ck
  std::string m_pseudo_id; // the pseudo image's imageId
  std::string m_cq_share_id;
  std::string m_cq_content;
  std::string m_cq_study_primary_id;
  std::string m_cq_hospital_code;
  std::string m_zfp_session;
  std::string m_zfpxauth; // has '/' and '='

  mutable std::mutex m_mutex;                    // guards the session state below
  std::map<std::string, bool> m_report_sessions; // ASP.NET_SessionId -> logged in
  std::map<std::string, std::chrono::steady_clock::time_point> m_cac; // CAC_AUTH -> expiry
  long m_counter = 0;

  std::map<std::string, Route> m_routes; // fault route names
  std::unique_ptr<testutil::HttpServer> m_report;
  std::unique_ptr<testutil::HttpServer> m_viewer;
};

} // namespace replica
