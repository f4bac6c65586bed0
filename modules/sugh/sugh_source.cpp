// SPDX-License-Identifier: GPL-3.0-or-later
#include "sugh_source.hpp"

#include "manifest.hpp"

#include <http/client.hpp>
#include <source/whole_file.hpp>

#include <atomic>
#include <thread>

namespace sugh {

namespace {

using source::Errc;

constexpr const char* k_host = "work.sugh.net";

bool
status_is(const core::Error& e, const char* status)
{
  return e.code == http::Errc::http_status
         && e.detail.find(std::string("HTTP ") + status) != std::string::npos;
}

// 401/403: the token was refused; 404/410: the share is gone.
core::Error
map_error(const core::Error& e)
{
  if (status_is(e, "401") || status_is(e, "403")) {
    return core::make_error(Errc::auth_rejected, "share token refused (" + e.detail + ")");
  }
  if (status_is(e, "404") || status_is(e, "410")) {
    return core::make_error(Errc::link_expired, e.detail);
  }
  return e;
}

struct Item
{
  const Series* series;
  std::size_t index;
};

class SughSource final : public source::Source
{
public:
  explicit SughSource(const source::Options& options)
  {
    if (auto it = options.find("threads"); it != options.end()) {
      m_threads = std::max(1, std::stoi(it->second));
    }
  }

  core::Result<void> fetch(const source::Request& request, store::IngestSink& sink,
                           http::Client& client, source::Job& job) override
  {
    const auto params = http::query_after_last_question_mark(request.url);
    const auto token = params.find("clinicalShareToken");
    if (token == params.end() || token->second.empty()) {
      return core::make_error(Errc::bad_request, "the link has no clinicalShareToken");
    }
    m_token = token->second;
    m_referer = request.url;
    const auto origin = http::origin_of(request.url);

    // G1: the share token to a study and organisation.
    http::Request g1;
    g1.url = origin + "/api/cloudfilm/api/studyInfo/getClinicalByShareCode?clinicalShareToken="
             + http::url_encode(m_token) + "&shareCode=";
    g1.expect = http::Expect::json;
    auto r1 = client.send(g1);
    if (!r1) {
      return map_error(r1.error());
    }
    job.add_bytes(r1->body.size());
    auto share = parse_share(r1->body);
    if (!share) {
      return share.error();
    }
    m_org = share->org_code;

    // G2: the listing, with the token header.
    http::Request g2 = with_headers(
        origin + "/api/cloudfilm-mgt/api/v1/study/json/index?systemCode=cloudfilm&studyUid="
            + http::url_encode(share->study_uid) + "&orgCode=" + http::url_encode(m_org)
            + "&purview=1",
        false);
    g2.expect = http::Expect::json;
    auto r2 = client.send(g2);
    if (!r2) {
      return map_error(r2.error());
    }
    job.add_bytes(r2->body.size());
    auto study = parse_study(r2->body);
    if (!study) {
      return study.error();
    }

    std::vector<Item> items;
    for (const auto& s : study->series) {
      for (std::size_t k = 0; k < s.images.size(); ++k) {
        if (s.images[k].empty() || s.uid.empty()) {
          job.skipped("series " + s.uid + ": image " + std::to_string(k + 1) + " has no imageUID");
          continue;
        }
        items.push_back({&s, k});
      }
    }
    job.add_series(static_cast<long>(study->series.size()));
    job.add_instances(static_cast<long>(items.size()));

    // G3 per instance; the study UID is std.studyUID, not G1's.
    const auto files =
        origin + "/api/cloudfilm-mgt/api/v1/dicom/studies/" + study->uid + "/series/";
    source::for_each_parallel(items.size(), m_threads, job, [&](std::size_t k) {
      fetch_one(client, sink, job, *share, *study, files, items[k]);
    });
    if (job.cancelled()) {
      return core::make_error(Errc::cancelled, "interrupted; run the same command again to resume");
    }
    return {};
  }

private:
  http::Request with_headers(const std::string& url, bool file) const
  {
    http::Request r;
    r.url = url;
    if (file) {
      r.headers.emplace_back("orgCode", m_org);
      r.headers.emplace_back("systemCode", "cloudfilm");
    }
    r.headers.emplace_back("Referer", m_referer);
    r.headers.emplace_back("token", m_token);
    return r;
  }

  void fetch_one(http::Client& client, store::IngestSink& sink, source::Job& job,
                 const Share& share, const Study& study, const std::string& files, const Item& item)
  {
    const auto& sop = item.series->images[item.index];
    if (sink.contains(sop)) {
      job.already_stored(sop);
      return;
    }
    // The trailing slash is part of the path (platforms.md 3.10, G3).
    auto r = with_headers(files + item.series->uid + "/instances/" + sop + "/", true);
    source::ExportName name;
    name.series_key = item.series->uid;
    name.patient = share.patient;
    name.exam = study.description;
    name.datetime = study.date_time;
    name.series_number = item.series->number;
    name.series_description = item.series->description;
    name.index = item.index;
    name.series_size = item.series->images.size();
    const auto send = [&](http::Expect expect) {
      r.expect = expect;
      return client.send(r);
    };
    source::fetch_whole_file(send, sink, job, sop, name, map_error);
  }

  int m_threads = 4;
  std::string m_token;
  std::string m_referer;
  std::string m_org;
};

} // namespace

bool
accepts(const std::string& url)
{
  return http::host_of(url) == k_host;
}

std::unique_ptr<source::Source>
make(const source::Options& options)
{
  return std::make_unique<SughSource>(options);
}

} // namespace sugh
