// SPDX-License-Identifier: GPL-3.0-or-later
#include "shdc_source.hpp"

#include "manifest.hpp"

#include <core/log.hpp>
#include <http/client.hpp>
#include <source/whole_file.hpp>

#include <atomic>
#include <chrono>
#include <random>
#include <thread>

namespace shdc {

namespace {

using source::Errc;

std::string
random_nonce()
{
  static const char k_chars[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  std::random_device rd;
  std::mt19937 gen(rd());
  std::uniform_int_distribution<int> pick(0, 61);
  std::string out;
  for (int i = 0; i < 6; ++i) {
    out += k_chars[pick(gen)];
  }
  return out;
}

class ShdcSource final : public source::Source
{
public:
  explicit ShdcSource(const source::Options& options)
  {
    if (auto it = options.find("key"); it != options.end()) {
      m_key = it->second;
    }
    if (auto it = options.find("referer"); it != options.end()) {
      m_referer = it->second;
    }
    if (auto it = options.find("threads"); it != options.end()) {
      m_threads = std::max(1, std::stoi(it->second));
    }
  }

  core::Result<void> fetch(const source::Request& request, store::IngestSink& sink,
                           http::Client& client, source::Job& job) override
  {
    const auto origin = http::origin_of(request.url);
    const auto nonce = random_nonce();
    auto params = http::query_after_last_question_mark(request.url);
    std::string sid = params.count("sid") ? params.at("sid") : "";
    std::string token = params.count("token") ? params.at("token") : "";
    if (params.count("share_id")) {
      // S0: exchange the report-page link for sid/token; only nonce_str is signed.
      http::Request r;
      r.method = "POST";
      r.url = origin + "/api001/share_verify?" + signed_query({{"nonce_str", nonce}}, m_key);
      r.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
      r.body = "appid=" + http::url_encode(params.count("appid") ? params.at("appid") : "")
               + "&share_id=" + http::url_encode(params.at("share_id"));
      r.expect = http::Expect::json;
      r.retry = true; // a lookup, safe to repeat
      auto resp = client.send(r);
      if (!resp) {
        return source::status_error(resp.error());
      }
      auto link = parse_share_verify(resp->body);
      if (!link) {
        return link.error();
      }
      const auto linked = http::query_after_last_question_mark(*link);
      sid = linked.count("sid") ? linked.at("sid") : "";
      token = linked.count("token") ? linked.at("token") : "";
    }
    if (sid.empty() || token.empty()) {
      return core::make_error(Errc::bad_request, "the link has no sid/token (or share_id)");
    }

    auto api = [&](const std::string& path, Params p) -> core::Result<http::Response> {
      if (job.cancelled()) {
        return core::make_error(Errc::cancelled, path);
      }
      p.emplace_back("nonce_str", nonce);
      p.emplace_back("token", token);
      http::Request r;
      r.url = origin + path + "?" + signed_query(p, m_key);
      r.expect = http::Expect::json; // served as text/html: parsed regardless
      auto resp = client.send(r);
      if (!resp) {
        return source::status_error(resp.error());
      }
      return resp;
    };
    auto detail = api("/api001/study/detail", {{"sid", sid}, {"mode", "0"}});
    if (!detail) {
      return detail.error();
    }
    auto study = parse_study(detail->body);
    if (!study) {
      return study.error();
    }
    auto list = api("/api001/series/list", {{"sid", sid}});
    if (!list) {
      return list.error();
    }
    auto series = parse_series_list(list->body);
    if (!series) {
      return series.error();
    }

    struct Work
    {
      std::size_t series;
      std::size_t index;
    };
    std::vector<Work> work;
    for (std::size_t s = 0; s < series->size(); ++s) {
      for (std::size_t i = 0; i < (*series)[s].names.size(); ++i) {
        work.push_back({s, i});
      }
    }
    job.add_series(static_cast<long>(series->size()));
    job.add_instances(static_cast<long>(work.size()));
    source::for_each_parallel(work.size(), m_threads, job, [&](std::size_t k) {
      fetch_file(client, sink, job, origin, sid, token, *study, (*series)[work[k].series],
                 work[k].series, work[k].index);
    });
    if (job.cancelled()) {
      return core::make_error(Errc::cancelled, "interrupted; run the same command again to resume");
    }
    return {};
  }

private:
  // S3: one whole file. The SOP Instance UID is unknown before the download,
  // so a resumed fetch downloads again and the store reports duplicates.
  void fetch_file(http::Client& client, store::IngestSink& sink, source::Job& job,
                  const std::string& origin, const std::string& sid, const std::string& token,
                  const Study& study, const Series& series, std::size_t series_pos,
                  std::size_t index)
  {
    const auto& name = series.names[index];
    const std::string what = "file " + series.source_folder + "/" + name;
    if (is_junk_name(name)) {
      job.skipped(what + ": not DICOM (listed as a picture)");
      return;
    }
    const auto ts = std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count());
    http::Request r;
    r.url = origin + "/rawdata/indata/" + series.source_folder + "/" + name;
    r.headers.emplace_back("Authorization", file_authorization(sid, token, ts, name, m_key));
    r.headers.emplace_back("Referer", m_referer);
    source::ExportName export_name;
    export_name.series_key = std::to_string(series_pos);
    export_name.patient = study.patient;
    export_name.exam = study.exam;
    export_name.datetime = study.datetime;
    export_name.series_number = series.number;
    export_name.series_description = series.description.empty() ? "Unnamed" : series.description;
    export_name.index = index;
    export_name.series_size = series.names.size();
    const auto send = [&](http::Expect expect) {
      r.expect = expect;
      return client.send(r);
    };
    source::fetch_whole_file(send, sink, job, what, export_name);
  }

  std::string m_key = k_default_key;
  std::string m_referer = "https://ylyyx.shdc.org.cn/";
  int m_threads = 4;
};

} // namespace

bool
accepts(const std::string& url)
{
  return http::host_of(url) == "ylyyx.shdc.org.cn";
}

std::unique_ptr<source::Source>
make(const source::Options& options)
{
  return std::make_unique<ShdcSource>(options);
}

} // namespace shdc
