// SPDX-License-Identifier: GPL-3.0-or-later
#include "cdn_replica.hpp"

#include <algorithm>
#include <climits>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace replica {

namespace {

using testutil::Calls;
using testutil::Fault;
using testutil::HttpRequest;
using testutil::HttpResponse;

constexpr const char* k_yzh_listing = "/w_viewer_2/index.php/home/index/ajax_get_patient_study";
constexpr const char* k_yzh_storage = "/storage/films";
constexpr const char* k_sugh_share = "/api/cloudfilm/api/studyInfo/getClinicalByShareCode";
constexpr const char* k_sugh_index = "/api/cloudfilm-mgt/api/v1/study/json/index";
constexpr const char* k_sugh_files = "/api/cloudfilm-mgt/api/v1/dicom/studies/";

} // namespace

Calls
parse_calls(const std::string& text)
{
  if (text.empty() || text == "*") {
    return Calls::all();
  }
  if (text[0] == '%') {
    return Calls::every(std::stoi(text.substr(1)));
  }
  const auto dash = text.find('-');
  if (dash == std::string::npos) {
    return Calls::nth(std::stoi(text));
  }
  const int first = std::stoi(text.substr(0, dash));
  return Calls::range(first, dash + 1 == text.size() ? INT_MAX : std::stoi(text.substr(dash + 1)));
}

namespace {

Fault
parse_kind(const std::string& kind, const std::string& arg)
{
  const auto number = [&](long fallback) { return arg.empty() ? fallback : std::stol(arg); };
  const auto retry_after = arg.empty() ? std::nullopt : std::optional<std::string>(arg);
  if (kind == "status") {
    return Fault::http_status(static_cast<int>(number(500)));
  }
  if (kind == "rate_limit") {
    return Fault::rate_limit(retry_after, 429);
  }
  if (kind == "rate_limit_503") {
    return Fault::rate_limit(retry_after, 503);
  }
  if (kind == "delay") {
    return Fault::delay_first_byte(std::chrono::milliseconds(number(1000)));
  }
  if (kind == "drip") {
    return Fault::drip(static_cast<std::size_t>(number(1024)));
  }
  if (kind == "stall") {
    return Fault::stall_after(static_cast<std::size_t>(number(0)));
  }
  if (kind == "truncate") {
    return Fault::truncate(static_cast<std::size_t>(number(16)));
  }
  if (kind == "truncate_chunked") {
    return Fault::truncate_chunked(static_cast<std::size_t>(number(16)));
  }
  if (kind == "reset") {
    return Fault::reset(static_cast<std::size_t>(number(0)));
  }
  if (kind == "html") {
    return Fault::soft_error_html();
  }
  if (kind == "short") {
    return Fault::short_object(static_cast<std::size_t>(number(16)));
  }
  if (kind == "wrong_type") {
    return Fault::wrong_type(arg.empty() ? "text/html" : arg);
  }
  if (kind == "gzip") {
    return Fault::gzip();
  }
  throw std::runtime_error("unknown fault kind '" + kind + "'");
}

std::string
read_file(const std::filesystem::path& path)
{
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  if (!in) {
    throw std::runtime_error("cannot read " + path.string());
  }
  return out.str();
}

// Not a real picture; the adapter must never fetch it.
std::string
fake_picture(bool png)
{
  return png ? std::string("\x89PNG\r\n\x1a\n", 8) + "screenshot"
             : std::string("\xff\xd8\xff\xe0", 4) + "screenshot\xff\xd9";
}

HttpResponse
json_error(int status, const std::string& code, const std::string& message)
{
  nlohmann::json j{{"code", code}, {"message", message}, {"data", nullptr}};
  auto r = HttpResponse::json(j.dump());
  r.status = status;
  return r;
}

} // namespace

std::pair<std::string, Fault>
parse_fault_spec(const std::string& spec)
{
  auto text = spec;
  Calls calls = Calls::all();
  if (const auto at = text.rfind('@'); at != std::string::npos) {
    calls = parse_calls(text.substr(at + 1));
    text.erase(at);
  }
  const auto c1 = text.find(':');
  if (c1 == std::string::npos) {
    throw std::runtime_error("fault '" + spec + "': expected ROUTE:KIND[:ARG][@CALLS]");
  }
  const auto route = text.substr(0, c1);
  const auto rest = text.substr(c1 + 1);
  const auto c2 = rest.find(':');
  const auto kind = rest.substr(0, c2);
  const auto arg = c2 == std::string::npos ? std::string() : rest.substr(c2 + 1);
  try {
    return {route, parse_kind(kind, arg).on(calls)};
  } catch (const std::invalid_argument&) {
    throw std::runtime_error("fault '" + spec + "': a number was expected");
  }
}

CdnReplica::CdnReplica(Study study, CdnOptions options)
    : m_study(std::move(study)), m_options(std::move(options)),
      m_start(std::chrono::steady_clock::now())
{
  for (const auto& s : m_study.series) {
    for (const auto& i : s.instances) {
      m_bytes[i.sop_instance_uid] = read_file(i.file);
    }
  }
  m_main = std::make_unique<testutil::HttpServer>();
  install_control(*m_main);
  if (m_options.platform == CdnPlatform::yzhcloud) {
    m_cdn = std::make_unique<testutil::HttpServer>();
    install_control(*m_cdn);
    install_yzhcloud();
  } else {
    install_sugh();
  }
  for (const auto& spec : m_options.faults) {
    add_fault(spec);
  }
}

CdnReplica::~CdnReplica() { stop(); }

void
CdnReplica::stop()
{
  if (m_main) {
    m_main->stop();
  }
  if (m_cdn) {
    m_cdn->stop();
  }
}

void
CdnReplica::pause() const
{
  if (m_options.latency.count() > 0) {
    std::this_thread::sleep_for(m_options.latency);
  }
}

void
CdnReplica::add_route(testutil::HttpServer& server, const std::string& name,
                      const std::string& method, const std::string& pattern,
                      testutil::Handler handler)
{
  m_routes[name] = {&server, pattern};
  server.route(method, pattern, [this, handler = std::move(handler)](const HttpRequest& r) {
    pause();
    return handler(r);
  });
}

void
CdnReplica::add_fault(const std::string& spec)
{
  auto [route, fault] = parse_fault_spec(spec);
  const auto it = m_routes.find(route);
  if (it != m_routes.end()) {
    it->second.server->fault(it->second.pattern, fault);
  } else {
    m_main->fault(route, fault); // a path pattern
  }
}

// --- yzhcloud (platforms.md 3.9, 8.3.9) ---------------------------------------------------

void
CdnReplica::install_yzhcloud()
{
  m_host = "m.yzhcloud.com";
  m_cdn_host = "cdn.yzhcloud.test";
  m_token = hash_hex("org:" + m_study.study_instance_uid).substr(0, 6); // org_id
  const auto origin = "http://" + m_host + ":" + std::to_string(m_main->port());
  // Hot-link protection: Referer or Origin must name the viewer.
  const auto hotlinked = [origin](const HttpRequest& r) {
    return r.header("referer").rfind(origin, 0) != 0 && r.header("origin") != origin;
  };

  nlohmann::ordered_json listing;
  listing["patient_name"] = m_study.patient_name;
  listing["checkitems"] = m_study.description;
  listing["study_date"] = m_study.date_time;
  listing["storage"] = "http://" + m_cdn_host + ":" + std::to_string(m_cdn->port()) + k_yzh_storage;
  auto series = nlohmann::ordered_json::array();
  std::map<std::string, std::string> files; // CDN path -> bytes
  const std::string base = std::string(k_yzh_storage) + "/" + m_study.study_instance_uid + "/";
  for (const auto& s : m_study.series) {
    const auto number = std::to_string(s.number.value_or(0));
    std::string ids;
    for (const auto& i : s.instances) {
      ids += (ids.empty() ? "" : ",") + i.sop_instance_uid;
      files[base + number + "." + i.sop_instance_uid + ".dcm"] = m_bytes[i.sop_instance_uid];
    }
    series.push_back({{"series_number", s.number.value_or(0)},
                      {"series_description", s.description},
                      {"instance_ids", ids}});
  }
  // The screenshot series: not DICOM.
  const auto shot1 = hash_hex("shot1:" + m_study.study_instance_uid).substr(0, 16);
  const auto shot2 = hash_hex("shot2:" + m_study.study_instance_uid).substr(0, 16);
  series.push_back({{"series_number", 999},
                    {"series_description", "截图"},
                    {"instance_ids", shot1 + "|jpg," + shot2 + "|png"}});
  files[base + "999." + shot1 + ".jpg"] = fake_picture(false);
  files[base + "999." + shot2 + ".png"] = fake_picture(true);
  m_junk = 2;
  listing["series"] = series;
  const auto listing_text = listing.dump();

  add_route(*m_main, "listing", "GET", k_yzh_listing, [=](const HttpRequest& r) {
    if (hotlinked(r)) {
      return HttpResponse::html("<h1>403 Forbidden</h1>", 403);
    }
    if (m_options.expired || r.param("study_instance_uid") != m_study.study_instance_uid
        || r.param("org_id") != m_token) {
      return HttpResponse::json("null");
    }
    return HttpResponse::json(listing_text);
  });
  add_route(*m_cdn, "file", "GET", std::string(k_yzh_storage) + "/*", [=](const HttpRequest& r) {
    if (hotlinked(r)) {
      return HttpResponse::html("<h1>403 Forbidden</h1>", 403);
    }
    const auto it = files.find(r.path);
    if (it == files.end()) {
      return HttpResponse::html("<h1>404 Not Found</h1>", 404);
    }
    const auto ext = r.path.substr(r.path.rfind('.') + 1);
    return HttpResponse::binary(it->second, ext == "dcm"   ? "application/octet-stream"
                                            : ext == "png" ? "image/png"
                                                           : "image/jpeg");
  });
}

// --- sugh (platforms.md 3.10, 8.3.10) -----------------------------------------------------

void
CdnReplica::install_sugh()
{
  m_host = "work.sugh.net";
  m_token = hash_hex("token:" + m_study.study_instance_uid);
  m_org = "ORG" + hash_hex("org:" + m_study.study_instance_uid).substr(0, 6);
  m_alias_uid = m_study.study_instance_uid + ".99"; // G1's studyUid on purpose differs

  add_route(*m_main, "share", "GET", k_sugh_share, [this](const HttpRequest& r) {
    if (m_options.expired) {
      return json_error(200, "500", "分享已过期 (share expired)");
    }
    if (r.param("clinicalShareToken") != m_token) {
      return json_error(200, "500", "分享码无效 (invalid share token)");
    }
    nlohmann::json j{{"code", "200"},
                     {"message", "success"},
                     {"data",
                      {{"studyUid", m_alias_uid},
                       {"params", {{"orgCode", m_org}, {"patientName", m_study.patient_name}}}}}};
    return HttpResponse::json(j.dump());
  });

  // Map keys sort in the opposite order of the display order.
  nlohmann::ordered_json sers = nlohmann::ordered_json::object();
  int k = 0;
  std::map<std::string, std::string> files; // "<series>/<image>" -> SOP UID
  for (const auto& s : m_study.series) {
    nlohmann::ordered_json imgs = nlohmann::ordered_json::object();
    int n = 0;
    for (const auto& i : s.instances) {
      imgs["img" + std::to_string(900 - n++)] = {{"imageUID", i.sop_instance_uid}};
      files[s.series_instance_uid + "/" + i.sop_instance_uid] = i.sop_instance_uid;
    }
    nlohmann::ordered_json one;
    one["seriesUID"] = s.series_instance_uid;
    one["seriesDescription"] = s.description;
    if (s.number) {
      one["seriesNumber"] = *s.number;
    } else {
      one["seriesNumber"] = nullptr;
    }
    one["imgs"] = imgs;
    sers["ser" + std::to_string(90 - k++)] = one;
  }
  // Junk: a report page without an image UID.
  sers["ser" + std::to_string(90 - k)] = {{"seriesUID", m_study.study_instance_uid + ".98"},
                                          {"seriesDescription", "报告"},
                                          {"seriesNumber", 0},
                                          {"imgs", {{"img900", {{"imageUID", ""}}}}}};
  m_junk = 1;
  nlohmann::ordered_json index;
  index["code"] = "200";
  index["message"] = "success";
  index["data"] = nlohmann::ordered_json::array({{{"std",
                                                   {{"studyUID", m_study.study_instance_uid},
                                                    {"studyDescription", m_study.description},
                                                    {"studyDateTime", m_study.date_time}}},
                                                  {"sers", sers}}});
  const auto index_text = index.dump();

  add_route(*m_main, "index", "GET", k_sugh_index, [this, index_text](const HttpRequest& r) {
    if (r.header("token") != m_token) {
      return json_error(401, "401", "token invalid");
    }
    if (r.param("systemCode") != "cloudfilm" || r.param("studyUid") != m_alias_uid
        || r.param("orgCode") != m_org || r.param("purview") != "1") {
      return json_error(200, "500", "study not found");
    }
    return HttpResponse::json(index_text);
  });
  add_route(*m_main, "file", "GET", std::string(k_sugh_files) + "*",
            [this, files](const HttpRequest& r) {
              if (r.header("token") != m_token || r.header("orgcode") != m_org
                  || r.header("systemcode") != "cloudfilm") {
                return json_error(401, "401", "token invalid");
              }
              // <B>/series/<S>/instances/<I>/ with the trailing slash.
              const auto rest = r.path.substr(std::string(k_sugh_files).size());
              std::vector<std::string> parts;
              std::size_t start = 0;
              for (auto slash = rest.find('/'); slash != std::string::npos;
                   slash = rest.find('/', start)) {
                parts.push_back(rest.substr(start, slash - start));
                start = slash + 1;
              }
              parts.push_back(rest.substr(start));
              if (parts.size() != 6 || parts[1] != "series" || parts[3] != "instances"
                  || !parts[5].empty() || parts[0] != m_study.study_instance_uid) {
                return HttpResponse::html("<h1>404 Not Found</h1>", 404);
              }
              const auto it = files.find(parts[2] + "/" + parts[4]);
              if (it == files.end()) {
                return HttpResponse::html("<h1>404 Not Found</h1>", 404);
              }
              return HttpResponse::binary(m_bytes.at(it->second), "application/dicom");
            });
}

// --- control ---------------------------------------------------------------------------

void
CdnReplica::install_control(testutil::HttpServer& s)
{
  s.route("GET", "/__control/log",
          [this](const HttpRequest&) { return HttpResponse::json(log().dump()); });
  s.route("GET", "/__control/info",
          [this](const HttpRequest&) { return HttpResponse::json(info().dump()); });
  s.route("*", "/__control/reset", [this](const HttpRequest&) {
    for (auto* server : {m_main.get(), m_cdn.get()}) {
      if (server) {
        server->reset();
      }
    }
    for (const auto& spec : m_options.faults) {
      add_fault(spec);
    }
    return HttpResponse::json(R"({"ok":true})");
  });
  s.route("*", "/__control/fault", [this](const HttpRequest& r) {
    try {
      add_fault(r.param("spec"));
    } catch (const std::exception& e) {
      return HttpResponse::text(std::string(e.what()) + "\n", 400);
    }
    return HttpResponse::json(R"({"ok":true})");
  });
  s.route("*", "/__control/clear_faults", [this](const HttpRequest&) {
    for (auto* server : {m_main.get(), m_cdn.get()}) {
      if (server) {
        server->clear_faults();
      }
    }
    return HttpResponse::json(R"({"ok":true})");
  });
}

std::string
CdnReplica::server_name(const testutil::HttpServer* server) const
{
  return server == m_cdn.get() ? "cdn" : "main";
}

nlohmann::json
CdnReplica::info() const
{
  nlohmann::json j;
  j["port"] = m_main->port();
  j["host"] = m_host;
  auto resolve =
      nlohmann::json::array({m_host + ":" + std::to_string(m_main->port()) + ":127.0.0.1"});
  j["study_uid"] = m_study.study_instance_uid;
  j["junk"] = m_junk;
  nlohmann::json urls;
  const auto origin = "http://" + m_host + ":" + std::to_string(m_main->port());
  if (m_options.platform == CdnPlatform::yzhcloud) {
    j["platform"] = "yzhcloud";
    j["cdn_port"] = m_cdn->port();
    j["cdn_host"] = m_cdn_host;
    resolve.push_back(m_cdn_host + ":" + std::to_string(m_cdn->port()) + ":127.0.0.1");
    j["share_url"] = origin + "/w_viewer_2/?study_instance_uid=" + m_study.study_instance_uid
                     + "&org_id=" + m_token;
    urls["unknown"] = origin + "/w_viewer_2/?study_instance_uid=" + m_study.study_instance_uid
                      + "&org_id=nosuchorg";
  } else {
    j["platform"] = "sugh";
    j["token"] = m_token;
    j["share_url"] = origin + "/pc/auth-viewer?clinicalShareToken=" + m_token;
    urls["unknown"] = origin + "/pc/auth-viewer?clinicalShareToken=" + hash_hex("nosuchtoken");
  }
  j["resolve"] = resolve;
  j["share_urls"] = urls;
  nlohmann::json routes;
  for (const auto& [name, route] : m_routes) {
    routes[name] = {{"server", server_name(route.server)}, {"pattern", route.pattern}};
  }
  j["routes"] = routes;
  auto images = nlohmann::json::array();
  for (const auto& s : m_study.series) {
    for (const auto& i : s.instances) {
      images.push_back({{"sop_instance_uid", i.sop_instance_uid},
                        {"series_instance_uid", s.series_instance_uid},
                        {"file", i.file.string()}});
    }
  }
  j["images"] = images;
  return j;
}

nlohmann::json
CdnReplica::log() const
{
  std::vector<std::pair<const testutil::HttpServer*, HttpRequest>> all;
  for (const auto* server : {m_main.get(), m_cdn.get()}) {
    if (server) {
      for (auto& r : server->requests()) {
        all.emplace_back(server, std::move(r));
      }
    }
  }
  std::stable_sort(all.begin(), all.end(),
                   [](const auto& a, const auto& b) { return a.second.time < b.second.time; });
  std::map<std::pair<const testutil::HttpServer*, std::string>, std::string> names;
  for (const auto& [name, route] : m_routes) {
    names[{route.server, route.pattern}] = name;
  }
  auto out = nlohmann::json::array();
  for (const auto& [server, r] : all) {
    if (r.path.rfind("/__control/", 0) == 0) {
      continue;
    }
    const auto name = names.find({server, r.route});
    auto headers = nlohmann::json::object();
    for (const auto& [k, v] : r.headers) {
      headers[k] = v;
    }
    out.push_back({{"server", server_name(server)},
                   {"method", r.method},
                   {"path", r.path},
                   {"query", r.query},
                   {"headers", headers},
                   {"route", name == names.end() ? std::string() : name->second},
                   {"number", r.number},
                   {"connection", r.connection},
                   {"time", std::chrono::duration<double>(r.time - m_start).count()}});
  }
  return out;
}

} // namespace replica
