// SPDX-License-Identifier: GPL-3.0-or-later
#include "zscloud_source.hpp"

#include "manifest.hpp"

#include <core/log.hpp>
#include <core/strings.hpp>
#include <http/client.hpp>
#include <source/whole_file.hpp>

#include <nlohmann/json.hpp>

#include <atomic>
#include <mutex>
#include <random>
#include <thread>

namespace zscloud {

namespace {

using source::Errc;

bool
has_status(const core::Error& e, const char* status)
{
  return e.code == http::Errc::http_status
         && e.detail.find(std::string("HTTP ") + status) != std::string::npos;
}

std::string
randnum()
{
  thread_local std::mt19937_64 gen{std::random_device{}()};
  std::uniform_real_distribution<double> dist(0.0, 1.0);
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.16f", dist(gen));
  return buffer;
}

class ZscloudSource final : public source::Source
{
public:
  explicit ZscloudSource(const source::Options& options)
  {
    if (auto it = options.find("key"); it != options.end() && !it->second.empty()) {
      m_keys.push_back(it->second);
    }
    const auto keys = options.count("keys") ? options.at("keys") : std::string(k_default_keys);
    for (const auto& k : core::split(keys, ',')) {
      const auto key = std::string(core::trim(k));
      if (!key.empty()) {
        m_keys.push_back(key);
      }
    }
    if (auto it = options.find("threads"); it != options.end()) {
      m_threads = std::max(1, std::stoi(it->second));
    }
  }

  core::Result<void> fetch(const source::Request& request, store::IngestSink& sink,
                           http::Client& client, source::Job& job) override
  {
    const auto params = http::query_after_last_question_mark(request.url);
    const auto code = params.count("code") ? params.at("code") : "";
    if (code.empty()) {
      return core::make_error(Errc::bad_request, "the link has no code parameter");
    }
    Session s(client, http::origin_of(request.url));

    auto config = s.send("GET", "/film/api/m/config/getConfigs", http::Expect::any);
    if (!config) {
      return source::status_error(config.error());
    }
    auto key = decrypt_config(config->body, m_keys);
    if (!key) {
      return key.error();
    }
    const nlohmann::json body = {{"code", code}};
    auto share = s.send("POST", "/film/api/m/doctor/getStudyByShareCodeWithToken",
                        http::Expect::json, body.dump());
    if (!share) {
      return source::status_error(share.error());
    }
    auto study = parse_share_answer(share->body, *key);
    if (!study) {
      return study.error();
    }
    if (study->studies > 1) {
      CF_LOG(warn, "source.zscloud",
             "the share holds " << study->studies << " studies; only the first is fetched");
    }
    if (auto token = s.renew(""); !token) {
      return token.error();
    }
    auto hierarchy = s.authorized(
        "/vna/image/Home/ImageService?CommandType=GetHierachy&StudyUID="
            + http::url_encode(study->study_uid) + "&UniqueID=" + http::url_encode(study->unique_id)
            + "&LocationCode=" + http::url_encode(study->org_code)
            + "&UserId=UIH&appendTags=PI-film-include&includeDeleted=false",
        http::Expect::json);
    if (!hierarchy) {
      return source::status_error(hierarchy.error());
    }
    auto series = parse_hierarchy(hierarchy->body);
    if (!series) {
      return series.error();
    }

    source::ExportName base;
    base.patient = study->patient;
    base.exam = study->exam;
    base.datetime = local_datetime(study->datetime_ms);
    struct Work
    {
      std::size_t series;
      std::size_t index;
    };
    std::vector<Work> work;
    for (std::size_t i = 0; i < series->size(); ++i) {
      for (std::size_t k = 0; k < (*series)[i].images.size(); ++k) {
        work.push_back({i, k});
      }
    }
    job.add_series(static_cast<long>(series->size()));
    job.add_instances(static_cast<long>(work.size()));
    source::for_each_parallel(work.size(), m_threads, job, [&](std::size_t k) {
      fetch_file(s, sink, job, study->study_uid, base, (*series)[work[k].series], work[k].series,
                 work[k].index);
    });
    if (job.cancelled()) {
      return core::make_error(Errc::cancelled, "interrupted; run the same command again to resume");
    }
    return {};
  }

private:
  // Requests to the share's origin with its Referer, and the Bearer token,
  // renewed once on a 401 (thread-safe).
  struct Session
  {
    Session(http::Client& c, std::string o) : client(c), origin(std::move(o)) {}

    http::Client& client;
    std::string origin;
    std::mutex mutex;
    std::string token;

    core::Result<http::Response> send(const std::string& method, const std::string& path,
                                      http::Expect expect, const std::string& body = {},
                                      const std::string& bearer = {})
    {
      http::Request r;
      r.method = method;
      r.url = origin + path;
      r.expect = expect;
      r.body = body;
      r.retry = true; // every call here is a read
      r.headers.emplace_back("Referer", origin);
      if (!body.empty()) {
        r.headers.emplace_back("Content-Type", "application/json;charset=UTF-8");
      }
      if (!bearer.empty()) {
        r.headers.emplace_back("Authorization", "Bearer " + bearer);
      }
      return client.send(r);
    }

    // Z3, unless another thread already replaced `stale`.
    core::Result<std::string> renew(const std::string& stale)
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (!token.empty() && token != stale) {
        return token;
      }
      auto resp = send("GET", "/viewer/2d/Dapeng/Viewer/GetCredentialsToken", http::Expect::json);
      if (!resp) {
        return source::status_error(resp.error());
      }
      auto t = parse_credentials(resp->body);
      if (!t) {
        return t.error();
      }
      token = *t;
      return token;
    }

    std::string current()
    {
      std::lock_guard<std::mutex> lock(mutex);
      return token;
    }

    // `path_and_query` gets a fresh randnum on every try.
    core::Result<http::Response> authorized(const std::string& path_and_query, http::Expect expect)
    {
      auto used = current();
      auto resp = send("GET", path_and_query + "&randnum=" + randnum(), expect, {}, used);
      if (!resp && has_status(resp.error(), "401")) {
        auto fresh = renew(used);
        if (!fresh) {
          return fresh.error();
        }
        resp = send("GET", path_and_query + "&randnum=" + randnum(), expect, {}, *fresh);
      }
      return resp;
    }
  };

  void fetch_file(Session& s, store::IngestSink& sink, source::Job& job,
                  const std::string& study_uid, const source::ExportName& base,
                  const Series& series, std::size_t series_pos, std::size_t index)
  {
    const auto& uid = series.images[index];
    const std::string what = "image " + uid;
    if (uid.empty()) {
      job.skipped("series " + series.uid + " entry " + std::to_string(index + 1)
                  + ": no UID, not DICOM");
      return;
    }
    if (sink.contains(uid)) {
      job.already_stored(uid);
      return;
    }
    const auto path = "/vna/image/Home/ImageService?CommandType=GetImage&ContentType=application/"
                      "dicom&ObjectUID="
                      + http::url_encode(uid) + "&StudyUID=" + http::url_encode(study_uid)
                      + "&SeriesUID=" + http::url_encode(series.uid) + "&includeDeleted=false";
    auto name = base;
    name.series_key = std::to_string(series_pos);
    name.series_number = series.number;
    name.series_description = series.description.empty() ? "Unnamed" : series.description;
    name.index = index;
    name.series_size = series.images.size();
    const auto send = [&](http::Expect expect) { return s.authorized(path, expect); };
    source::fetch_whole_file(send, sink, job, what, name);
  }

  std::vector<std::string> m_keys;
  int m_threads = 4;
};

} // namespace

bool
accepts(const std::string& url)
{
  return http::host_of(url) == "zscloud.zs-hospital.sh.cn";
}

std::unique_ptr<source::Source>
make(const source::Options& options)
{
  return std::make_unique<ZscloudSource>(options);
}

} // namespace zscloud
