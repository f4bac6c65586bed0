// SPDX-License-Identifier: GPL-3.0-or-later
#include "dicomweb_source.hpp"

#include <core/fs.hpp>
#include <http/client.hpp>
#include <http/multipart.hpp>

#include <nlohmann/json.hpp>

#include <atomic>
#include <fstream>
#include <thread>

namespace dicomweb {

namespace {

using source::Errc;

constexpr const char* k_scheme = "dicomweb+";

// First value of a tag in a DICOM JSON object (PS3.18 F.2), or "".
std::string
json_value(const nlohmann::json& object, const char* tag)
{
  const auto it = object.find(tag);
  if (it == object.end() || !it->contains("Value") || (*it)["Value"].empty()) {
    return {};
  }
  const auto& v = (*it)["Value"][0];
  return v.is_string() ? v.get<std::string>() : v.dump();
}

std::string
base64(const std::string& in)
{
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  int val = 0;
  int bits = -6;
  for (const unsigned char c : in) {
    val = (val << 8) + c;
    bits += 8;
    while (bits >= 0) {
      out += k[(val >> bits) & 0x3F];
      bits -= 6;
    }
  }
  if (bits > -6) {
    out += k[((val << 8) >> (bits + 8)) & 0x3F];
  }
  while (out.size() % 4 != 0) {
    out += '=';
  }
  return out;
}

class DicomwebSource final : public source::Source
{
public:
  explicit DicomwebSource(const source::Options& options)
  {
    if (auto it = options.find("token"); it != options.end()) {
      m_token = it->second;
    }
    if (auto it = options.find("threads"); it != options.end()) {
      m_threads = std::max(1, std::stoi(it->second));
    }
  }

  core::Result<void> fetch(const source::Request& request, store::IngestSink& sink,
                           http::Client& client, source::Job& job) override
  {
    auto url = request.url.substr(std::string(k_scheme).size());
    // user:password@ becomes a basic Authorization header.
    const auto scheme_end = url.find("://");
    const auto at = url.find('@', scheme_end + 3);
    const auto slash = url.find('/', scheme_end + 3);
    if (at != std::string::npos && (slash == std::string::npos || at < slash)) {
      m_auth = "Basic " + base64(url.substr(scheme_end + 3, at - scheme_end - 3));
      url.erase(scheme_end + 3, at - scheme_end - 2);
    } else if (!request.password.empty() || !m_token.empty()) {
      m_auth = "Bearer " + (request.password.empty() ? m_token : request.password);
    }
    std::string query;
    if (const auto q = url.find('?'); q != std::string::npos) {
      query = url.substr(q + 1);
      url.erase(q);
    }
    while (!url.empty() && url.back() == '/') {
      url.pop_back();
    }
    m_base = url;

    std::vector<std::string> studies;
    if (!request.study_uid.empty()) {
      studies.push_back(request.study_uid);
    } else if (!query.empty()) {
      auto found = qido(client, "/studies?" + query);
      if (!found) {
        return found.error();
      }
      for (const auto& s : *found) {
        studies.push_back(json_value(s, "0020000D"));
      }
    } else {
      return core::make_error(Errc::bad_request, "give --study UID or a QIDO-RS query in the link");
    }
    if (studies.empty()) {
      return core::make_error(Errc::link_expired, "no study matches");
    }
    for (const auto& study : studies) {
      if (auto r = fetch_study(client, sink, job, study); !r) {
        return r;
      }
    }
    return {};
  }

private:
  http::Request request_for(const std::string& path, const std::string& accept) const
  {
    http::Request r;
    r.url = m_base + path;
    r.headers.emplace_back("Accept", accept);
    if (!m_auth.empty()) {
      r.headers.emplace_back("Authorization", m_auth);
    }
    return r;
  }

  core::Result<nlohmann::json> qido(http::Client& client, const std::string& path)
  {
    auto r = request_for(path, "application/dicom+json");
    r.expect = http::Expect::any;
    auto resp = client.send(r);
    if (!resp) {
      if (resp.error().code == http::Errc::http_status
          && (resp.error().detail.find("HTTP 401") != std::string::npos
              || resp.error().detail.find("HTTP 403") != std::string::npos)) {
        return core::make_error(Errc::auth_rejected, resp.error().detail);
      }
      return resp.error();
    }
    if (resp->status == 204 || resp->body.empty()) {
      return nlohmann::json::array();
    }
    try {
      return nlohmann::json::parse(resp->body);
    } catch (const std::exception& e) {
      return core::make_error(Errc::upstream_changed, "QIDO-RS " + path + ": " + e.what());
    }
  }

  struct Item
  {
    std::string series;
    std::string sop;
    std::string series_description;
    std::optional<long> series_number;
    std::size_t index = 0;
    std::size_t series_size = 0;
  };

  core::Result<void> fetch_study(http::Client& client, store::IngestSink& sink, source::Job& job,
                                 const std::string& study)
  {
    auto series = qido(client, "/studies/" + study + "/series");
    if (!series) {
      return series.error();
    }
    if (series->empty()) {
      return core::make_error(Errc::link_expired, "study " + study + " not on the server");
    }
    job.add_series(static_cast<long>(series->size()));
    std::vector<Item> items;
    std::string patient;
    std::string date;
    std::string description;
    for (const auto& s : *series) {
      const auto series_uid = json_value(s, "0020000E");
      auto instances = qido(client, "/studies/" + study + "/series/" + series_uid + "/instances");
      if (!instances) {
        return instances.error();
      }
      std::optional<long> number;
      try {
        if (const auto n = json_value(s, "00200011"); !n.empty()) {
          number = std::stol(n);
        }
      } catch (const std::exception&) {
      }
      std::size_t index = 0;
      for (const auto& i : *instances) {
        items.push_back({series_uid, json_value(i, "00080018"), json_value(s, "0008103E"), number,
                         index++, instances->size()});
      }
    }
    if (auto st = qido(client, "/studies?StudyInstanceUID=" + study); st && !st->empty()) {
      const auto& j = (*st)[0];
      if (auto it = j.find("00100010"); it != j.end() && it->contains("Value")) {
        patient = (*it)["Value"][0].value("Alphabetic", std::string());
      }
      date = json_value(j, "00080020");
      description = json_value(j, "00081030");
    }
    job.add_instances(static_cast<long>(items.size()));
    source::for_each_parallel(items.size(), m_threads, job, [&](std::size_t k) {
      fetch_instance(client, sink, job, study, items[k], patient, description, date);
    });
    if (job.cancelled()) {
      return core::make_error(Errc::cancelled, "interrupted; run the same command again to resume");
    }
    return {};
  }

  void fetch_instance(http::Client& client, store::IngestSink& sink, source::Job& job,
                      const std::string& study, const Item& item, const std::string& patient,
                      const std::string& description, const std::string& date)
  {
    source::ExportName name;
    name.series_key = item.series;
    name.patient = patient;
    name.exam = description;
    name.datetime = date;
    name.series_number = item.series_number;
    name.series_description = item.series_description;
    name.index = item.index;
    name.series_size = item.series_size;
    if (sink.contains(item.sop)) {
      job.already_stored(item.sop, &name);
      return;
    }
    // PS3.18 10.4: the instance in its stored transfer syntax (no transcoding).
    auto r = request_for("/studies/" + study + "/series/" + item.series + "/instances/" + item.sop,
                         "multipart/related; type=\"application/dicom\"; transfer-syntax=*");
    auto resp = client.send(r);
    if (!resp) {
      job.failed(item.sop + ": " + resp.error().message());
      return;
    }
    job.add_bytes(resp->body.size());
    const auto split =
        http::split_multipart(resp->body, http::boundary_of(resp->header("content-type")));
    if (!split.problem.empty() || split.parts.size() != 1) {
      // PS3.18 8.6.1.2: one part per instance requested.
      job.failed(item.sop + ": " + (split.problem.empty() ? "expected one part" : split.problem));
      return;
    }
    const auto* parts = &split.parts;
    const auto spool = sink.spool_path();
    {
      std::ofstream out(spool, std::ios::binary);
      out.write((*parts)[0].data(), static_cast<std::streamsize>((*parts)[0].size()));
      if (!out) {
        job.failed(item.sop + ": cannot write spool file");
        return;
      }
    }
    (void)job.deliver(spool, name);
  }

  std::string m_token;
  std::string m_auth;
  std::string m_base;
  int m_threads = 4;
};

} // namespace

bool
accepts(const std::string& url)
{
  return url.rfind("dicomweb+http://", 0) == 0 || url.rfind("dicomweb+https://", 0) == 0;
}

std::unique_ptr<source::Source>
make(const source::Options& options)
{
  return std::make_unique<DicomwebSource>(options);
}

} // namespace dicomweb
