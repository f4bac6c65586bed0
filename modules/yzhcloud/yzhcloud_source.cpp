// SPDX-License-Identifier: GPL-3.0-or-later
#include "yzhcloud_source.hpp"

#include "manifest.hpp"

#include <http/client.hpp>
#include <source/whole_file.hpp>

#include <atomic>
#include <thread>

namespace yzhcloud {

namespace {

using source::Errc;

constexpr const char* k_host = "m.yzhcloud.com";
constexpr const char* k_listing_path = "/w_viewer_2/index.php/home/index/ajax_get_patient_study";

bool
status_is(const core::Error& e, const char* status)
{
  return e.code == http::Errc::http_status
         && e.detail.find(std::string("HTTP ") + status) != std::string::npos;
}

struct Item
{
  const Series* series;
  const Entry* entry;
  std::size_t index;
  std::size_t series_position; // in the listing: the series key (numbers repeat)
};

class YzhcloudSource final : public source::Source
{
public:
  explicit YzhcloudSource(const source::Options& options)
  {
    if (auto it = options.find("cdn_scheme"); it != options.end()) {
      m_cdn_scheme = it->second;
    }
    if (auto it = options.find("threads"); it != options.end()) {
      m_threads = std::max(1, std::stoi(it->second));
    }
  }

  core::Result<void> fetch(const source::Request& request, store::IngestSink& sink,
                           http::Client& client, source::Job& job) override
  {
    const auto params = http::query_after_last_question_mark(request.url);
    const auto uid = params.find("study_instance_uid");
    const auto org = params.find("org_id");
    if (uid == params.end() || uid->second.empty() || org == params.end()) {
      return core::make_error(Errc::bad_request, "the link needs study_instance_uid and org_id");
    }
    m_origin = http::origin_of(request.url);
    http::Request r =
        with_headers(m_origin + k_listing_path + "?study_instance_uid="
                     + http::url_encode(uid->second) + "&org_id=" + http::url_encode(org->second));
    r.expect = http::Expect::json;
    auto resp = client.send(r);
    if (!resp) {
      if (status_is(resp.error(), "404") || status_is(resp.error(), "403")
          || status_is(resp.error(), "410")) {
        return core::make_error(Errc::link_expired, resp.error().detail);
      }
      return resp.error();
    }
    job.add_bytes(resp->body.size());
    auto listing = parse_listing(resp->body);
    if (!listing) {
      return listing.error();
    }
    const auto base = cdn_base(listing->storage, m_cdn_scheme);

    std::vector<Item> items;
    long instances = 0;
    for (std::size_t p = 0; p < listing->series.size(); ++p) {
      const auto& s = listing->series[p];
      for (std::size_t k = 0; k < s.entries.size(); ++k) {
        if (s.entries[k].ext != "dcm") {
          // Screenshots (|jpg, |png) are not DICOM: never stored as originals.
          job.skipped("series " + s.number_text + ": " + s.entries[k].name + "." + s.entries[k].ext
                      + " is a screenshot, not DICOM");
          continue;
        }
        items.push_back({&s, &s.entries[k], k, p});
        ++instances;
      }
    }
    job.add_series(static_cast<long>(listing->series.size()));
    job.add_instances(instances);

    source::for_each_parallel(items.size(), m_threads, job, [&](std::size_t k) {
      fetch_one(client, sink, job, *listing, base, uid->second, items[k]);
    });
    if (job.cancelled()) {
      return core::make_error(Errc::cancelled, "interrupted; run the same command again to resume");
    }
    return {};
  }

private:
  http::Request with_headers(const std::string& url) const
  {
    http::Request r;
    r.url = url;
    r.headers.emplace_back("Referer", m_origin);
    r.headers.emplace_back("Origin", m_origin);
    return r;
  }

  void fetch_one(http::Client& client, store::IngestSink& sink, source::Job& job,
                 const Listing& listing, const std::string& base, const std::string& study_uid,
                 const Item& item)
  {
    const auto& entry = *item.entry;
    // Entry names are SOP Instance UIDs on the sites seen so far; when one is,
    // an instance stored before is not downloaded again (else the store
    // reports the duplicate).
    if (looks_like_uid(entry.name) && sink.contains(entry.name)) {
      job.already_stored(entry.name);
      return;
    }
    auto r = with_headers(file_url(base, study_uid, *item.series, entry));
    source::ExportName name;
    name.series_key = std::to_string(item.series_position);
    name.patient = listing.patient;
    name.exam = listing.exam;
    name.datetime = listing.date;
    name.series_number = item.series->number;
    name.series_description = item.series->description;
    name.index = item.index;
    name.series_size = item.series->entries.size();
    const auto send = [&](http::Expect expect) {
      r.expect = expect;
      return client.send(r);
    };
    source::fetch_whole_file(send, sink, job, entry.name, name,
                             [](const core::Error& e) { return e; });
  }

  std::string m_cdn_scheme = "https";
  int m_threads = 4;
  std::string m_origin;
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
  return std::make_unique<YzhcloudSource>(options);
}

} // namespace yzhcloud
