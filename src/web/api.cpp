// SPDX-License-Identifier: GPL-3.0-or-later
// Dispatch of the HTTP side's routes, and the routes that are not the
// store's: status, metrics, fetch jobs, modalities, the forwarding queue.
#include "api.hpp"

#include "assets.hpp"
#include "dicomweb.hpp"
#include "error_codes.hpp"
#include "events.hpp"
#include "fetch_jobs.hpp"
#include "json.hpp"
#include "security.hpp"
#include "viewer.hpp"

#include <core/log.hpp>
#include <core/strings.hpp>
#include <forward/job_store.hpp>
#include <source/source.hpp>

#include <nlohmann/json.hpp>

namespace web {

namespace {

using nlohmann::json;

json
queue_job_json(const forward::JobSummary& j)
{
  return json{{"id", j.id},
              {"destination", j.destination},
              {"reason", j.reason},
              {"study_uid", j.study_uid},
              {"state", forward::to_string(j.state)},
              {"attempts", j.attempts},
              {"next_attempt", j.next_attempt},
              {"last_error", j.last_error},
              {"created_at", j.created_at},
              {"pending", j.pending},
              {"done", j.done},
              {"warning", j.warning},
              {"failed", j.failed}};
}

// The JSON body of a write, which must say it is JSON (a cross-site form
// post cannot, WEB.md 6.2.3).
bool
json_body(const Request& request, json& out, Response& error)
{
  const auto& type = request.header("content-type");
  if (core::to_lower_ascii(type.substr(0, type.find(';'))) != "application/json") {
    error = error_response(415, "bad_request", "send the body as Content-Type: application/json");
    return false;
  }
  out = json::parse(request.body, nullptr, false);
  if (!out.is_object()) {
    error = error_response(400, "bad_json", "the body is not a JSON object");
    return false;
  }
  return true;
}

std::vector<std::string>
segments(const std::string& path)
{
  std::vector<std::string> out;
  for (auto& s : core::split(path, '/')) {
    if (!s.empty()) {
      out.push_back(s);
    }
  }
  return out;
}

Response
method_not_allowed()
{
  return error_response(405, "method_not_allowed", "this method is not allowed here");
}

Response
bad_uid()
{
  return error_response(400, "bad_request", "not a DICOM UID (digits and dots, at most 64)");
}

} // namespace

Api::Api(Services services, FetchJobs& fetch, EventHub& events, Guard& guard)
    : m_services(std::move(services)), m_fetch(fetch), m_events(events), m_guard(guard)
{
}

bool
Api::is_upload(const std::string& method, const std::string& path)
{
  // Uploads and STOW-RS (PS3.18 10.5) bodies go to the spool, not memory.
  return method == "POST"
         && (path == "/api/instances" || path == "/dicom-web/studies"
             || path.rfind("/dicom-web/studies/", 0) == 0);
}

Response
Api::handle(Request& request)
{
  Response r;
  try {
    if (auto refused = m_guard.check(request)) {
      r = std::move(*refused);
    } else {
      r = route(request);
    }
  } catch (const std::exception& e) {
    CF_LOG(error, "web", request.method << " " << request.path << ": " << e.what());
    r = error_response(500, "internal", "internal error; the node's log says more");
  }
  if (request.path.rfind("/api/", 0) == 0) {
    r.set("Cache-Control", "no-store");
  }
  count_response(r.status);
  return r;
}

Response
Api::route(Request& request)
{
  const auto s = segments(request.path);
  const auto& m = request.method;
  const auto n = s.size();
  if (n == 0) {
    Response r;
    r.status = 302;
    r.set("Location", "/ui/");
    return r;
  }
  if (s[0] == "ui") {
    return page(request);
  }
  if (s[0] == "dicom-web") {
    dicomweb::Context ctx;
    ctx.query = m_services.query;
    ctx.sink = m_services.sink;
    ctx.fallback_charset = m_services.config->storage.fallback_charset;
    auto r = dicomweb::handle(ctx, request, std::vector<std::string>(s.begin() + 1, s.end()));
    r.set("Cache-Control", "no-store"); // PHI (WEB.md 6.2.8)
    return r;
  }
  if (s[0] == "metrics" && n == 1) {
    return m == "GET" ? metrics() : method_not_allowed();
  }
  if (s[0] != "api" || n < 2) {
    if (!m_services.viewer.empty() && s[0] != "api") {
      if (auto r = viewer_response(m_services.viewer, request)) {
        return std::move(*r);
      }
    }
    return error_response(404, "not_found", "no such page");
  }
  const auto& what = s[1];
  if (what == "system" && n == 2) {
    return m == "GET" ? system() : method_not_allowed();
  }
  if (what == "platforms" && n == 2) {
    json list = json::array();
    for (const auto& p : source::platforms()) {
      list.push_back({{"name", p.name}, {"url_forms", p.url_forms}});
    }
    return json_response(200, dump(json{{"platforms", list}}));
  }
  if (what == "login" && n == 2) {
    return m == "POST" ? m_guard.login(request) : method_not_allowed();
  }
  if (what == "logout" && n == 2) {
    return m == "POST" ? m_guard.logout(request) : method_not_allowed();
  }
  if (what == "me" && n == 2) {
    return json_response(200,
                         dump(json{{"auth", m_guard.auth_enabled()},
                                   {"user", request.user.empty() ? json() : json(request.user)}}));
  }
  if (what == "events" && n == 2) {
    if (m != "GET") {
      return method_not_allowed();
    }
    Response r;
    r.events = &m_events;
    try {
      const auto& last = request.header("last-event-id");
      r.last_event_id = last.empty() ? 0 : std::stoull(last);
    } catch (...) {
      r.last_event_id = 0;
    }
    return r;
  }
  if (what == "studies" && n >= 2) {
    if (n == 2) {
      return m == "GET" ? studies(request) : method_not_allowed();
    }
    if (!is_uid(s[2])) {
      return bad_uid();
    }
    if (n == 3) {
      return m == "GET"      ? study(s[2])
             : m == "DELETE" ? remove(store::Level::study, s[2])
                             : method_not_allowed();
    }
    if (n == 4 && s[3] == "archive") {
      return m == "GET" ? archive(s[2]) : method_not_allowed();
    }
    if (n == 4 && s[3] == "send") {
      return m == "POST" ? send(request, s[2]) : method_not_allowed();
    }
  }
  if (what == "series" && n == 3) {
    if (!is_uid(s[2])) {
      return bad_uid();
    }
    return m == "GET"      ? series(s[2])
           : m == "DELETE" ? remove(store::Level::series, s[2])
                           : method_not_allowed();
  }
  if (what == "instances") {
    if (n == 2) {
      return m == "POST" ? upload(request) : method_not_allowed();
    }
    if (!is_uid(s[2])) {
      return bad_uid();
    }
    if (n == 3) {
      return m == "GET"      ? instance(s[2])
             : m == "DELETE" ? remove(store::Level::image, s[2])
                             : method_not_allowed();
    }
    if (n == 4 && s[3] == "file") {
      return m == "GET" ? instance_file(s[2]) : method_not_allowed();
    }
  }
  if (what == "fetch") {
    if (n == 2) {
      return m == "POST"  ? fetch_start(request)
             : m == "GET" ? json_response(200, m_fetch.list_json())
                          : method_not_allowed();
    }
    if (n == 3 && m == "GET") {
      auto j = m_fetch.json(s[2]);
      return j ? json_response(200, *j) : error_response(404, "not_found", "no such fetch job");
    }
    if (n == 3 && m == "DELETE") {
      return m_fetch.cancel_or_forget(s[2]) ? json_response(200, "{}")
                                            : error_response(404, "not_found", "no such fetch job");
    }
    if (n == 4 && s[3] == "retry") {
      return m == "POST" ? fetch_retry(request, s[2]) : method_not_allowed();
    }
    if (n == 3) {
      return method_not_allowed();
    }
  }
  if (what == "modalities") {
    if (n == 2) {
      return m == "GET" ? modalities() : method_not_allowed();
    }
    if (n == 4 && s[3] == "echo") {
      return m == "POST" ? echo(s[2]) : method_not_allowed();
    }
  }
  if (what == "queue") {
    if (n == 2) {
      return m == "GET" ? queue_list() : method_not_allowed();
    }
    if (n == 4 && (s[3] == "retry" || s[3] == "cancel")) {
      return m == "POST" ? queue_action(s[2], s[3] == "retry") : method_not_allowed();
    }
  }
  return error_response(404, "not_found", "no such API route");
}

Response
Api::page(const Request& request)
{
  if (request.method != "GET" && request.method != "HEAD") {
    return method_not_allowed();
  }
  if (request.path == "/ui") {
    Response r;
    r.status = 302;
    r.set("Location", "/ui/");
    return r;
  }
  auto name = request.path.substr(4); // after "/ui/"
  if (name.empty()) {
    name = "index.html";
  }
  const auto* asset = find_asset(name);
  if (asset == nullptr) {
    return error_response(404, "not_found", "no such page");
  }
  Response r;
  r.body.assign(reinterpret_cast<const char*>(asset->data), asset->size);
  r.content_type = asset->content_type;
  // WEB.md 6.2.6: DICOM strings are attacker-controlled; the page inserts
  // them as text, and the policy forbids anything but our own scripts.
  r.set("Content-Security-Policy", "default-src 'self'; img-src 'self' data: blob:; "
                                   "connect-src 'self'; frame-ancestors 'none'");
  r.set("Cache-Control", "no-cache");
  return r;
}

Response
Api::system()
{
  const auto& c = *m_services.config;
  long studies = 0;
  long series = 0;
  long instances = 0;
  if (auto patients = m_services.query->patients()) {
    for (const auto& p : *patients) {
      studies += p.study_count;
      series += p.series_count;
      instances += p.instance_count;
    }
  }
  const auto storage = m_services.storage ? m_services.storage() : StorageStatus{};
  long pending = 0;
  long failed = 0;
  if (m_services.queue != nullptr) {
    if (auto jobs = m_services.queue->list()) {
      for (const auto& j : *jobs) {
        pending += j.state == forward::JobState::pending;
        failed += j.state == forward::JobState::failed;
      }
    }
  }
  json j{{"version", m_services.version},
         {"ae_title", c.node.ae_title},
         {"dicom", {{"bind", c.node.bind}, {"port", c.node.port}}},
         {"http", {{"bind", c.http.bind}, {"port", c.http.port}, {"auth", m_guard.auth_enabled()}}},
         {"storage",
          {{"used_bytes", storage.used_bytes},
           {"free_bytes", storage.free_bytes},
           {"studies", studies},
           {"series", series},
           {"instances", instances},
           {"max_size_mb", c.storage.max_size_mb},
           {"max_studies", c.storage.max_studies}}},
         {"viewer", !m_services.viewer.empty()},
         {"fetch_jobs_running", m_fetch.running()},
         {"queue", {{"pending", pending}, {"failed", failed}}}};
  return json_response(200, dump(j));
}

void
Api::count_response(int status)
{
  std::lock_guard<std::mutex> lock(m_metrics_mutex);
  ++m_responses[status];
}

Response
Api::metrics()
{
  // Prometheus text exposition format 0.0.4.
  std::string out;
  long studies = 0;
  long instances = 0;
  if (auto patients = m_services.query->patients()) {
    for (const auto& p : *patients) {
      studies += p.study_count;
      instances += p.instance_count;
    }
  }
  const auto storage = m_services.storage ? m_services.storage() : StorageStatus{};
  out += "# HELP cloudfilm_studies Studies in the store.\n# TYPE cloudfilm_studies gauge\n";
  out += "cloudfilm_studies " + std::to_string(studies) + "\n";
  out += "# HELP cloudfilm_instances Instances in the store.\n# TYPE cloudfilm_instances gauge\n";
  out += "cloudfilm_instances " + std::to_string(instances) + "\n";
  out += "# HELP cloudfilm_storage_used_bytes Bytes of stored files.\n"
         "# TYPE cloudfilm_storage_used_bytes gauge\n";
  out += "cloudfilm_storage_used_bytes " + std::to_string(storage.used_bytes) + "\n";
  out += "# HELP cloudfilm_storage_free_bytes Free bytes on the store's file system.\n"
         "# TYPE cloudfilm_storage_free_bytes gauge\n";
  out += "cloudfilm_storage_free_bytes " + std::to_string(storage.free_bytes) + "\n";
  out += "# HELP cloudfilm_fetch_jobs_running Cloud-film downloads running.\n"
         "# TYPE cloudfilm_fetch_jobs_running gauge\n";
  out += "cloudfilm_fetch_jobs_running " + std::to_string(m_fetch.running()) + "\n";
  std::map<std::string, long> queue;
  if (m_services.queue != nullptr) {
    if (auto jobs = m_services.queue->list()) {
      for (const auto& j : *jobs) {
        ++queue[forward::to_string(j.state)];
      }
    }
  }
  out += "# HELP cloudfilm_queue_jobs Forwarding jobs by state.\n"
         "# TYPE cloudfilm_queue_jobs gauge\n";
  for (const char* state : {"pending", "done", "failed", "cancelled"}) {
    out += std::string("cloudfilm_queue_jobs{state=\"") + state + "\"} "
           + std::to_string(queue[state]) + "\n";
  }
  out += "# HELP cloudfilm_event_streams Open event streams.\n"
         "# TYPE cloudfilm_event_streams gauge\n";
  out += "cloudfilm_event_streams " + std::to_string(m_events.subscribers()) + "\n";
  out += "# HELP cloudfilm_http_responses_total HTTP responses by status.\n"
         "# TYPE cloudfilm_http_responses_total counter\n";
  {
    std::lock_guard<std::mutex> lock(m_metrics_mutex);
    for (const auto& [status, count] : m_responses) {
      out += "cloudfilm_http_responses_total{code=\"" + std::to_string(status) + "\"} "
             + std::to_string(count) + "\n";
    }
  }
  Response r;
  r.body = std::move(out);
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  return r;
}

Response
Api::fetch_start(const Request& request)
{
  json body;
  Response error;
  if (!json_body(request, body, error)) {
    return error;
  }
  if (!body.contains("url") || !body["url"].is_string()) {
    return error_response(400, "bad_json", "expected {\"url\": \"<cloud film link>\"}");
  }
  std::string password;
  if (body.contains("password") && !body["password"].is_null()) {
    if (!body["password"].is_string()) {
      return error_response(400, "bad_json", "\"password\" must be a string");
    }
    password = body["password"].get<std::string>();
  }
  const auto url = std::string(core::trim(body["url"].get<std::string>()));
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
    return error_response(400, "unsupported_link", "the link must start with http:// or https://");
  }
  auto id = m_fetch.start(url, password);
  if (!id) {
    const auto e = api_error(id.error());
    return error_response(e.status, e.code, id.error().message());
  }
  return json_response(202, "{\"job\":" + m_fetch.json(*id).value_or("null") + "}");
}

Response
Api::fetch_retry(const Request& request, const std::string& id)
{
  std::optional<std::string> password;
  if (!request.body.empty()) {
    json body;
    Response error;
    if (!json_body(request, body, error)) {
      return error;
    }
    if (body.contains("password") && body["password"].is_string()) {
      password = body["password"].get<std::string>();
    }
  }
  auto r = m_fetch.retry(id, password);
  if (!r) {
    const auto e = api_error(r.error());
    return error_response(e.code == "not_found" ? 404 : 409,
                          e.code == "not_found" ? "not_found"
                          : r.error().message().find("password") != std::string::npos
                              ? "needs_password"
                              : "conflict",
                          r.error().message());
  }
  return json_response(202, "{\"job\":" + m_fetch.json(id).value_or("null") + "}");
}

Response
Api::modalities()
{
  json list = json::array();
  for (const auto& [name, mod] : m_services.config->modalities) {
    list.push_back({{"name", name},
                    {"ae_title", mod.ae_title},
                    {"host", mod.host},
                    {"port", mod.port},
                    {"reachable", mod.reachable()}});
  }
  return json_response(200, dump(json{{"modalities", list}}));
}

Response
Api::echo(const std::string& name)
{
  const auto it = m_services.config->modalities.find(name);
  if (it == m_services.config->modalities.end()) {
    return error_response(404, "unknown_modality", "no modality '" + name + "' is configured");
  }
  if (!it->second.reachable()) {
    return error_response(400, "unknown_modality",
                          "modality '" + name + "' has no host and port to reach it");
  }
  auto r = m_services.echo(it->second);
  if (!r) {
    return error_response(502, "pacs_unreachable", r.error().message());
  }
  return json_response(200, "{\"ok\":true}");
}

Response
Api::queue_list()
{
  if (m_services.queue == nullptr) {
    return json_response(200, "{\"jobs\":[]}");
  }
  auto jobs = m_services.queue->list();
  if (!jobs) {
    return error_response(500, "internal", jobs.error().message());
  }
  json list = json::array();
  for (auto it = jobs->rbegin(); it != jobs->rend(); ++it) {
    list.push_back(queue_job_json(*it));
  }
  return json_response(200, dump(json{{"jobs", list}}));
}

Response
Api::queue_action(const std::string& id_text, bool retry)
{
  long id = 0;
  try {
    std::size_t used = 0;
    id = std::stol(id_text, &used);
    if (used != id_text.size()) {
      throw std::invalid_argument(id_text);
    }
  } catch (...) {
    return error_response(400, "bad_request", "a queue job id is a number");
  }
  if (m_services.queue == nullptr) {
    return error_response(404, "not_found", "no such queue job");
  }
  auto r = retry ? m_services.queue->retry(id) : m_services.queue->cancel(id);
  if (!r) {
    return error_response(500, "internal", r.error().message());
  }
  if (!*r) {
    return error_response(404, "not_found", "no such queue job, or not in a state for that");
  }
  poll_queue();
  auto job = m_services.queue->job(id);
  return json_response(200, job && *job ? dump(json{{"job", queue_job_json(**job)}}) : "{}");
}

void
Api::poll_queue()
{
  if (m_services.queue == nullptr) {
    return;
  }
  auto jobs = m_services.queue->list();
  if (!jobs) {
    return;
  }
  std::lock_guard<std::mutex> lock(m_queue_mutex);
  for (const auto& j : *jobs) {
    auto text = dump(queue_job_json(j));
    auto& seen = m_queue_seen[j.id];
    if (seen != text) {
      seen = text;
      m_events.publish("queue", std::move(text));
    }
  }
}

} // namespace web
