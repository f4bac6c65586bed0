// SPDX-License-Identifier: GPL-3.0-or-later
#include "mtywcloud_source.hpp"

#include "manifest.hpp"

#include <http/client.hpp>
#include <source/whole_file.hpp>

#include <atomic>
#include <thread>

namespace mtywcloud {

namespace {

using source::Errc;

class MtywcloudSource final : public source::Source
{
public:
  explicit MtywcloudSource(const source::Options& options)
  {
    if (auto it = options.find("key"); it != options.end()) {
      m_key = it->second;
    }
    if (auto it = options.find("iv"); it != options.end()) {
      m_iv = it->second;
    }
    if (auto it = options.find("base"); it != options.end()) {
      m_base = it->second;
      while (!m_base.empty() && m_base.back() == '/') {
        m_base.pop_back();
      }
    }
    if (auto it = options.find("threads"); it != options.end()) {
      m_threads = std::max(1, std::stoi(it->second));
    }
    (void)encrypt_hex("probe", m_key, m_iv); // a bad key/IV size fails at startup
  }

  core::Result<void> fetch(const source::Request& request, store::IngestSink& sink,
                           http::Client& client, source::Job& job) override
  {
    const auto params = http::query_after_last_question_mark(request.url);
    const auto path = params.count("DicomDirPath") ? params.at("DicomDirPath") : "";
    const auto org = params.count("OrganizationID") ? params.at("OrganizationID") : "";
    if (path.empty() || org.empty()) {
      return core::make_error(Errc::bad_request, "the link has no DicomDirPath/OrganizationID");
    }
    // M1: the viewer page, for its cookies and the Referer of everything else.
    http::Request viewer;
    viewer.url = request.url;
    auto page = client.send(viewer);
    if (!page) {
      return source::status_error(page.error());
    }
    const auto referer = page->url.empty() ? request.url : page->url;

    http::Request info;
    info.method = "POST";
    info.url = m_base + "/ICCWebClient/api/Study/Info?data="
               + encrypt_hex(query_plaintext(path, org), m_key, m_iv);
    info.headers.emplace_back("Referer", referer);
    info.expect = http::Expect::json;
    info.retry = true; // a lookup, safe to repeat
    auto answer = client.send(info);
    if (!answer) {
      return source::status_error(answer.error());
    }
    auto study = parse_study_info(answer->body);
    if (!study) {
      return study.error();
    }

    struct Work
    {
      std::size_t series;
      std::size_t index;
    };
    std::vector<Work> work;
    for (std::size_t s = 0; s < study->series.size(); ++s) {
      for (std::size_t i = 0; i < study->series[s].images.size(); ++i) {
        work.push_back({s, i});
      }
    }
    job.add_series(static_cast<long>(study->series.size()));
    job.add_instances(static_cast<long>(work.size()));
    source::for_each_parallel(work.size(), m_threads, job, [&](std::size_t k) {
      fetch_file(client, sink, job, referer, org, *study, work[k].series, work[k].index);
    });
    if (job.cancelled()) {
      return core::make_error(Errc::cancelled, "interrupted; run the same command again to resume");
    }
    return {};
  }

private:
  // M3: one whole file; skipped when the store has its SOP Instance UID.
  void fetch_file(http::Client& client, store::IngestSink& sink, source::Job& job,
                  const std::string& referer, const std::string& org, const Study& study,
                  std::size_t series_pos, std::size_t index)
  {
    const auto& series = study.series[series_pos];
    const auto& image = series.images[index];
    const std::string what = "image " + image.sop_instance_uid;
    if (image.sop_instance_uid.empty() || image.image_path.empty()) {
      job.skipped("series " + std::to_string(series_pos + 1) + " entry " + std::to_string(index + 1)
                  + ": no SOP Instance UID or path, not DICOM");
      return;
    }
    if (sink.contains(image.sop_instance_uid)) {
      job.already_stored(image.sop_instance_uid);
      return;
    }
    http::Request r;
    r.url = m_base + "/ICCWebClient/api/Dicom/File?sopInstanceUID="
            + http::url_encode(image.sop_instance_uid)
            + "&seriesInstanceUID=" + http::url_encode(image.series_instance_uid)
            + "&studyInstanceUID=" + http::url_encode(image.study_instance_uid)
            + "&imagePath=" + http::url_encode(image.image_path)
            + "&httpPath=null&retrieveAE=&OrganizationID=" + http::url_encode(org);
    r.headers.emplace_back("Referer", referer);
    source::ExportName name;
    name.series_key = std::to_string(series_pos);
    name.patient = study.patient;
    name.exam = study.exam;
    name.datetime = study.datetime;
    name.series_number = series.number;
    name.series_description = series.description;
    name.index = index;
    name.series_size = series.images.size();
    const auto send = [&](http::Expect expect) {
      r.expect = expect;
      return client.send(r);
    };
    source::fetch_whole_file(send, sink, job, what, name);
  }

  std::string m_key = k_default_key;
  std::string m_iv = k_default_iv;
  std::string m_base = k_default_base;
  int m_threads = 4;
};

} // namespace

bool
accepts(const std::string& url)
{
  return http::host_of(url) == "ss.mtywcloud.com";
}

std::unique_ptr<source::Source>
make(const source::Options& options)
{
  return std::make_unique<MtywcloudSource>(options);
}

} // namespace mtywcloud
