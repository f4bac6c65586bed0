// SPDX-License-Identifier: GPL-3.0-or-later
#include "hinacom_source.hpp"

#include "manifest.hpp"

#include <core/log.hpp>
#include <core/strings.hpp>
#include <dicom/errors.hpp>
#include <dicom/reassemble.hpp>
#include <http/client.hpp>

#include <nlohmann/json.hpp>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace hinacom {

namespace {

using source::Errc;

bool
ends_with(const std::string& s, const std::string& suffix)
{
  return s.size() >= suffix.size()
         && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

core::Error
fail(Errc code, const std::string& detail)
{
  return core::make_error(code, detail);
}

// A 403, 404 or 410 on the share link, its pages or the listing means the
// link is gone or the session was refused (platforms.md 8.2).
core::Error
link_error(const core::Error& e)
{
  if (e.code == http::Errc::http_status
      && (e.detail.find("HTTP 403") != std::string::npos
          || e.detail.find("HTTP 404") != std::string::npos
          || e.detail.find("HTTP 410") != std::string::npos)) {
    return fail(Errc::link_expired, e.detail);
  }
  return e;
}

class Session
{
public:
  Session(http::Client& client, source::Job& job) : m_client(client), m_job(job) {}

  core::Result<http::Response> get(const std::string& url, http::Expect expect = http::Expect::any)
  {
    if (m_job.cancelled()) {
      return fail(Errc::cancelled, url);
    }
    http::Request r;
    r.url = url;
    r.expect = expect;
    auto resp = m_client.send(r);
    if (resp) {
      m_job.add_bytes(resp->body.size());
    }
    return resp;
  }

  core::Result<http::Response> post(const std::string& url, const std::string& content_type,
                                    const std::string& body,
                                    http::Expect expect = http::Expect::any)
  {
    http::Request r;
    r.method = "POST";
    r.url = url;
    r.body = body;
    r.expect = expect;
    r.headers.emplace_back("Content-Type", content_type);
    return m_client.send(r);
  }

private:
  http::Client& m_client;
  source::Job& m_job;
};

class HinacomSource final : public source::Source
{
public:
  HinacomSource(Door door, const source::Options& options) : m_door(door)
  {
    if (auto it = options.find("keepalive"); it != options.end()) {
      m_keepalive = std::max(1, std::stoi(it->second));
    }
    if (auto it = options.find("threads"); it != options.end()) {
      m_threads = std::max(1, std::stoi(it->second));
    }
  }

  core::Result<void> fetch(const source::Request& request, store::IngestSink& sink,
                           http::Client& client, source::Job& job) override
  {
    Session s(client, job);
    auto viewer = open_viewer(s, request);
    if (!viewer) {
      return viewer.error();
    }
    return download(s, client, sink, job, *viewer, request.raw);
  }

private:
  // The viewer's StudyView URL, reached through the door's own steps.
  core::Result<std::string> open_viewer(Session& s, const source::Request& request)
  {
    switch (m_door) {
    case Door::medicalimagecloud:
      return door_medicalimagecloud(s, request);
    case Door::cq12320:
      return door_cq12320(s, request);
    case Door::jdyfy:
      return door_jdyfy(s, request);
    }
    return fail(Errc::bad_request, request.url);
  }

  // L1-L2 (platforms.md 3.1.2).
  core::Result<std::string> door_medicalimagecloud(Session& s, const source::Request& request)
  {
    if (request.password.empty()) {
      return fail(Errc::bad_request, "this link needs the share password (--password)");
    }
    auto share = s.get(request.url, http::Expect::html);
    if (!share) {
      return link_error(share.error());
    }
    const std::string report = share->url;
    const auto uuid = report.substr(report.find_last_of('/') + 1);
    auto login =
        s.post(report, "application/x-www-form-urlencoded",
               "id=" + http::url_encode(uuid) + "&Password=" + http::url_encode(request.password),
               http::Expect::html);
    if (!login) {
      return link_error(login.error());
    }
    const auto link = find_view_image_link(login->body);
    if (link.empty()) {
      // The page looks the same for a wrong password and a cancelled share.
      return fail(Errc::auth_rejected, "wrong password, or the share was cancelled");
    }
    return view_image(s, http::origin_of(report) + link);
  }

  // C1-C3 (platforms.md 3.2).
  core::Result<std::string> door_cq12320(Session& s, const source::Request& request)
  {
    const auto params = http::query_after_last_question_mark(request.url);
    const auto share_id = params.count("share_id") ? params.at("share_id") : "";
    const auto content = params.count("content") ? params.at("content") : "";
    if (share_id.empty() || content.empty()) {
      return fail(Errc::bad_request, "the link has no share_id/content");
    }
    const auto base = http::origin_of(request.url) + "/wcs1/mdmis-app/h5";
    if (auto home = s.get(base + "/"); !home) {
      return link_error(home.error());
    }
    const nlohmann::json check_body = {{"content", content}, {"share_id", share_id}};
    auto check = s.post(base + "/api/share/check/time", "application/json", check_body.dump(),
                        http::Expect::json);
    if (!check) {
      return link_error(check.error());
    }
    std::string study_primary_id;
    std::string hospital_code;
    try {
      const auto j = nlohmann::json::parse(check->body);
      if (j.value("code", 0) != 200) {
        return fail(Errc::link_expired, j.value("message", std::string("share check refused")));
      }
      const auto extend = nlohmann::json::parse(j.at("data").at("extend").get<std::string>());
      study_primary_id = extend.at("study_primary_id").is_string()
                             ? extend.at("study_primary_id").get<std::string>()
                             : extend.at("study_primary_id").dump();
      hospital_code = extend.at("hospital_code").is_string()
                          ? extend.at("hospital_code").get<std::string>()
                          : extend.at("hospital_code").dump();
    } catch (const std::exception& e) {
      return fail(Errc::upstream_changed, std::string("share check answer: ") + e.what());
    }
    auto entry = s.get(base + "/api/qinming_h5/api/ch/report/PacsEntry.aspx?hospitalCode="
                           + http::url_encode(hospital_code)
                           + "&studyPrimaryId=" + http::url_encode(study_primary_id),
                       http::Expect::html);
    if (!entry) {
      return link_error(entry.error());
    }
    const auto target = find_js_var(entry->body, "TARGET_URL");
    if (!target || target->empty()) {
      return fail(Errc::upstream_changed, "entry page has no TARGET_URL");
    }
    return http::resolve_url(entry->url, *target);
  }

  // platforms.md 3.3.
  core::Result<std::string> door_jdyfy(Session& s, const source::Request& request)
  {
    const auto params = http::query_after_last_question_mark(request.url);
    const auto id_type = params.find("idType");
    if (id_type == params.end()) {
      return fail(Errc::bad_request, "the link has no idType parameter");
    }
    std::string view;
    if (id_type->second == "accessionnumber") {
      auto page = s.get(request.url, http::Expect::html);
      if (!page) {
        return link_error(page.error());
      }
      const auto sid = find_hidden_study_id(page->body);
      if (sid.empty()) {
        return fail(Errc::upstream_changed, "the phone-check page has no StudyId field");
      }
      view = http::origin_of(page->url) + "/Study/ViewImage?studyId=" + sid;
    } else {
      const auto ret = params.find("returnUrl");
      if (ret == params.end()) {
        return fail(Errc::bad_request, "the link has no returnUrl parameter");
      }
      view = ret->second.empty() ? request.url : http::resolve_url(request.url, ret->second);
    }
    return view_image(s, view);
  }

  // L3-L4: ViewImage page -> ENTRY -> TARGET_PATH.
  core::Result<std::string> view_image(Session& s, const std::string& url)
  {
    auto page = s.get(url, http::Expect::html);
    if (!page) {
      return link_error(page.error());
    }
    const auto entry = find_location_href(page->body);
    if (entry.empty()) {
      return fail(Errc::upstream_changed, "ViewImage page has no location.href");
    }
    auto entered = s.get(http::resolve_url(page->url, entry), http::Expect::html);
    if (!entered) {
      return link_error(entered.error());
    }
    const auto target = find_js_var(entered->body, "TARGET_PATH");
    if (!target || target->empty()) {
      return fail(Errc::link_expired, "the viewer refused the entry token (no TARGET_PATH)");
    }
    return http::resolve_url(http::origin_of(entered->url) + "/", *target);
  }

  // L5, listing, keep-alive and the instances (3.1.3-3.1.6).
  core::Result<void> download(Session& s, http::Client& client, store::IngestSink& sink,
                              source::Job& job, const std::string& viewer_url, bool raw)
  {
    auto page = s.get(viewer_url, http::Expect::html);
    if (!page) {
      return link_error(page.error());
    }
    auto vars = parse_viewer_vars(page->body);
    if (!vars) {
      // A login page instead of the viewer: the entry token was not accepted.
      if (page->body.find("ImageViewer") == std::string::npos) {
        return fail(Errc::link_expired,
                    "the viewer answered with a login page (session expired or link invalid)");
      }
      return vars.error();
    }
    auto base = viewer_base(page->url);
    if (!base) {
      return base.error();
    }
    auto listing =
        s.get(*base + "ImageViewer/GetImageSet?studyId=" + http::url_encode(vars->study_id)
                  + "&accessionNumber=" + http::url_encode(vars->accession_number)
                  + "&examuid=" + http::url_encode(vars->exam_uid) + "&minThickness=5",
              http::Expect::json);
    if (!listing) {
      return link_error(listing.error());
    }
    auto set = parse_image_set(listing->body);
    if (!set) {
      return set.error();
    }

    // Keep CAC_AUTH alive while we work (3.1.4).
    std::mutex m;
    std::condition_variable cv;
    bool done = false;
    std::thread keepalive([&] {
      std::unique_lock<std::mutex> lock(m);
      while (!cv.wait_for(lock, std::chrono::seconds(m_keepalive), [&] { return done; })) {
        lock.unlock();
        http::Request r;
        r.url = *base + "ImageViewer/renewcacauth";
        if (auto renewed = client.send(r); !renewed) {
          CF_LOG(warn, "source.hinacom", "renewcacauth: " << renewed.error().message());
        }
        lock.lock();
      }
    });

    struct Work
    {
      const DisplaySet* series;
      std::size_t index;
    };
    std::vector<Work> work;
    job.add_series(static_cast<long>(set->display_sets.size()));
    for (const auto& ds : set->display_sets) {
      for (std::size_t i = 0; i < ds.images.size(); ++i) {
        work.push_back({&ds, i});
      }
    }
    job.add_instances(static_cast<long>(work.size()));
    source::for_each_parallel(work.size(), m_threads, job, [&](std::size_t k) {
      fetch_instance(s, sink, job, *base, *vars, *set, *work[k].series, work[k].index, raw);
    });
    {
      std::lock_guard<std::mutex> lock(m);
      done = true;
    }
    cv.notify_all();
    keepalive.join();
    if (job.cancelled()) {
      return fail(Errc::cancelled, "interrupted; run the same command again to resume");
    }
    return {};
  }

  void fetch_instance(Session& s, store::IngestSink& sink, source::Job& job,
                      const std::string& base, const ViewerVars& vars, const ImageSet& set,
                      const DisplaySet& ds, std::size_t index, bool raw)
  {
    const auto& image = ds.images[index];
    const auto nodes = http::url_encode(set.storage_node);
    auto tags_response = s.get(
        base + "ImageViewer/GetImageDicomTags?studyId=" + http::url_encode(image.study_id)
            + "&imageId=" + http::url_encode(image.image_id) + "&frame=0&storageNodes=" + nodes,
        http::Expect::json);
    const std::string what = "image " + image.image_id;
    if (!tags_response) {
      job.failed(what + ": " + tags_response.error().message());
      return;
    }
    auto tags = parse_tags(tags_response->body);
    if (!tags) {
      job.failed(what + ": " + tags.error().message());
      return;
    }
    if (tags->empty()) {
      job.skipped(what + ": not a DICOM image (empty tag list)");
      return;
    }
    std::string sop;
    for (const auto& t : *tags) {
      if (t.group == 0x0008 && t.element == 0x0018) {
        sop = std::string(core::trim(t.value));
      }
    }
    source::ExportName name;
    name.series_key = std::to_string(reinterpret_cast<std::uintptr_t>(&ds));
    name.patient = set.patient_name;
    name.exam = set.study_description;
    name.datetime = set.study_date;
    name.series_number = ds.series_number;
    name.series_description = ds.description;
    name.index = index;
    name.series_size = ds.images.size();
    if (!sop.empty() && sink.contains(sop)) {
      job.already_stored(sop, &name);
      return;
    }
    const auto pixels_url = base + "imageservice/api/image/" + (raw ? "dicom" : "j2k") + "/"
                            + http::url_encode(image.study_id) + "/"
                            + http::url_encode(image.image_id) + (raw ? "/0/0" : "/0/3")
                            + "?storageNodes=" + nodes + "&ck=" + http::url_encode(vars.cache_key);
    auto pixels = s.get(pixels_url, http::Expect::jpeg2000_or_raw);
    if (!pixels) {
      job.failed(what + ": " + pixels.error().message());
      return;
    }
    const auto spool = sink.spool_path();
    auto rebuilt = dicom::reassemble(*tags, pixels->body, spool);
    if (!rebuilt) {
      std::error_code ec;
      std::filesystem::remove(spool, ec);
      job.failed(what + ": " + rebuilt.error().message());
      return;
    }
    for (const auto& skipped : rebuilt->skipped) {
      CF_LOG(debug, "source.hinacom", sop << ": left out " << skipped);
    }
    (void)job.deliver(spool, name);
  }

  Door m_door;
  int m_keepalive = 60;
  int m_threads = 4;
};

} // namespace

bool
accepts(Door door, const std::string& url)
{
  const auto host = http::host_of(url);
  switch (door) {
  case Door::medicalimagecloud:
    return ends_with(host, ".medicalimagecloud.com") && url.find("/t/") != std::string::npos;
  case Door::cq12320:
    return host == "mdmis.cq12320.cn";
  case Door::jdyfy:
    return host == "cloudpacs.jdyfy.com";
  }
  return false;
}

std::unique_ptr<source::Source>
make(Door door, const source::Options& options)
{
  return std::make_unique<HinacomSource>(door, options);
}

} // namespace hinacom
