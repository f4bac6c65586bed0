// SPDX-License-Identifier: GPL-3.0-or-later
// Fetch jobs of the HTTP side: threads, progress events, records on disk.
#include "fetch_jobs.hpp"

#include "error_codes.hpp"
#include "events.hpp"
#include "json.hpp"
#include "recording_sink.hpp"

#include <core/crypto.hpp>
#include <core/fs.hpp>
#include <core/log.hpp>
#include <core/strings.hpp>
#include <core/time.hpp>
#include <http/url.hpp>
#include <source/job.hpp>
#include <source/source.hpp>
#include <store/errors.hpp>

#include <nlohmann/json.hpp>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <set>
#include <sstream>

namespace web {

using Clock = std::chrono::steady_clock;

struct FetchJobs::Record
{
  std::string id;
  std::string url;
  std::string platform;
  std::string state; // queued running done failed cancelled interrupted
  std::string created_at;
  std::string finished_at;
  std::string password; // memory only
  bool has_password = false;
  source::Job::Counters counters;
  std::set<std::string> study_uids;
  std::string error_code;
  std::string error_message;
  std::vector<std::string> problems;
  Clock::time_point started{};
  Clock::time_point last_publish{};
  Clock::time_point last_save{};
  bool cancel_requested = false;
  source::Job* live_job = nullptr;
  http::Client* live_client = nullptr;
  std::thread thread;
};

namespace {

constexpr std::size_t k_max_problems = 20;
constexpr auto k_publish_every = std::chrono::milliseconds(250);
constexpr auto k_save_every = std::chrono::seconds(2);

std::string
new_id()
{
  const auto bytes = core::random_bytes(8);
  return core::to_hex(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
}

bool
finished(const std::string& state)
{
  return state == "done" || state == "failed" || state == "cancelled" || state == "interrupted";
}

} // namespace

FetchJobs::FetchJobs(FetchOptions options, store::IngestSink& sink, EventHub& hub)
    : m_options(std::move(options)), m_sink(sink), m_hub(hub)
{
}

FetchJobs::~FetchJobs() { stop(); }

std::string
FetchJobs::to_json(const Record& job) const
{
  const auto& c = job.counters;
  const long finished_count = c.stored + c.already + c.skipped + c.failed;
  nlohmann::json j{
      {"id", job.id},
      {"platform", job.platform},
      {"link", http::redact_url(job.url)},
      {"state", job.state},
      {"created_at", job.created_at},
      {"finished_at", job.finished_at.empty() ? nlohmann::json() : nlohmann::json(job.finished_at)},
      {"series", c.series},
      {"instances", c.instances},
      {"stored", c.stored},
      {"already", c.already},
      {"skipped", c.skipped},
      {"failed", c.failed},
      {"bytes", c.bytes},
      {"needs_password", job.has_password && job.password.empty()},
      {"study_uids", job.study_uids}};
  double rate = 0;
  if (job.state == "running") {
    const double s = std::chrono::duration<double>(Clock::now() - job.started).count();
    rate = s > 0.5 ? finished_count / s : 0;
  }
  j["rate_per_s"] = rate;
  j["eta_s"] = rate > 0 && c.instances > finished_count
                   ? nlohmann::json(static_cast<long>((c.instances - finished_count) / rate))
                   : nlohmann::json();
  j["error"] = job.error_code.empty()
                   ? nlohmann::json()
                   : nlohmann::json{{"code", job.error_code}, {"message", job.error_message}};
  auto problems = nlohmann::json::array();
  for (const auto& p : job.problems) {
    problems.push_back(http::redact_urls_in(p));
  }
  j["problems"] = problems;
  return dump(j);
}

void
FetchJobs::save(const Record& job) const
{
  nlohmann::json j{{"id", job.id},
                   {"url", job.url},
                   {"platform", job.platform},
                   {"state", job.state},
                   {"created_at", job.created_at},
                   {"finished_at", job.finished_at},
                   {"has_password", job.has_password},
                   {"series", job.counters.series},
                   {"instances", job.counters.instances},
                   {"stored", job.counters.stored},
                   {"already", job.counters.already},
                   {"skipped", job.counters.skipped},
                   {"failed", job.counters.failed},
                   {"bytes", job.counters.bytes},
                   {"study_uids", job.study_uids},
                   {"error_code", job.error_code},
                   {"error_message", job.error_message},
                   {"problems", job.problems}};
  const auto file = m_options.dir / (job.id + ".json");
  const auto old_mask = ::umask(077); // the link is a capability
  auto r = core::fs::write_atomic(file, dump(j));
  ::umask(old_mask);
  if (!r) {
    CF_LOG(warn, "web",
           "fetch job " << job.id << ": cannot save its record: " << r.error().message());
  }
}

void
FetchJobs::publish(Record& rec, bool force)
{
  // Called with m_mutex held.
  const auto& job = rec;
  const auto now = Clock::now();
  if (!force && now - rec.last_publish < k_publish_every) {
    return;
  }
  rec.last_publish = now;
  m_hub.publish("fetch", to_json(job));
  if (force || now - rec.last_save >= k_save_every) {
    rec.last_save = now;
    save(job);
  }
}

void
FetchJobs::resume()
{
  std::error_code ec;
  if (!core::fs::make_dirs(m_options.dir)) {
    return;
  }
  std::vector<std::shared_ptr<Record>> restart;
  for (const auto& entry : std::filesystem::directory_iterator(m_options.dir, ec)) {
    if (entry.path().extension() != ".json") {
      continue;
    }
    std::ifstream in(entry.path());
    std::stringstream ss;
    ss << in.rdbuf();
    const auto j = nlohmann::json::parse(ss.str(), nullptr, false);
    if (!j.is_object()) {
      CF_LOG(warn, "web", entry.path().string() << ": not a fetch job record; ignored");
      continue;
    }
    auto job = std::make_shared<Record>();
    try {
      job->id = j.at("id").get<std::string>();
      job->url = j.at("url").get<std::string>();
      job->platform = j.value("platform", "");
      job->state = j.value("state", "interrupted");
      job->created_at = j.value("created_at", "");
      job->finished_at = j.value("finished_at", "");
      job->has_password = j.value("has_password", false);
      job->counters.series = j.value("series", 0L);
      job->counters.instances = j.value("instances", 0L);
      job->counters.stored = j.value("stored", 0L);
      job->counters.already = j.value("already", 0L);
      job->counters.skipped = j.value("skipped", 0L);
      job->counters.failed = j.value("failed", 0L);
      job->counters.bytes = j.value("bytes", std::uint64_t(0));
      for (const auto& s : j.value("study_uids", std::vector<std::string>{})) {
        job->study_uids.insert(s);
      }
      job->error_code = j.value("error_code", "");
      job->error_message = j.value("error_message", "");
      job->problems = j.value("problems", std::vector<std::string>{});
    } catch (const nlohmann::json::exception&) {
      CF_LOG(warn, "web", entry.path().string() << ": incomplete fetch job record; ignored");
      continue;
    }
    if (job->id != entry.path().stem().string()) {
      continue;
    }
    if (!finished(job->state)) {
      job->state = "interrupted";
      if (!job->has_password) {
        restart.push_back(job);
      }
    }
    std::lock_guard<std::mutex> lock(m_mutex);
    m_jobs[job->id] = job;
  }
  for (const auto& job : restart) {
    CF_LOG(info, "web",
           "fetch job " << job->id << " (" << job->platform << ") resumes after the restart");
    launch(job);
  }
}

core::Result<std::string>
FetchJobs::start(const std::string& url, const std::string& password)
{
  const auto* platform = source::find_platform(url);
  if (platform == nullptr) {
    return core::make_error(source::Errc::unsupported_url,
                            "no supported platform recognises this link");
  }
  auto job = std::make_shared<Record>();
  job->id = new_id();
  job->url = url;
  job->platform = platform->name;
  job->created_at = core::utc_timestamp();
  job->password = password;
  job->has_password = !password.empty();
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_jobs[job->id] = job;
  }
  CF_LOG(info, "web",
         "fetch job " << job->id << ": " << platform->name << " link " << http::redact_url(url));
  launch(job);
  return job->id;
}

void
FetchJobs::launch(const std::shared_ptr<Record>& job)
{
  if (job->thread.joinable()) {
    job->thread.join(); // the previous run has finished (its state said so)
  }
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    job->state = "queued";
    job->cancel_requested = false;
    job->error_code.clear();
    job->error_message.clear();
    job->problems.clear();
    job->finished_at.clear();
    publish(*job, true);
  }
  job->thread = std::thread([this, job] { run(job); });
}

void
FetchJobs::run(const std::shared_ptr<Record>& job)
{
  {
    std::unique_lock<std::mutex> lock(m_mutex);
    m_slot.wait(lock, [&] {
      return m_stopping || job->cancel_requested || m_running < m_options.max_running;
    });
    if (m_stopping || job->cancel_requested) {
      job->state = m_stopping ? "interrupted" : "cancelled";
      job->finished_at = core::utc_timestamp();
      publish(*job, true);
      return;
    }
    ++m_running;
    job->state = "running";
    job->started = Clock::now();
    publish(*job, true);
  }
  core::Result<void> result;
  source::Job::Counters counters;
  std::vector<std::string> problems;
  const auto* platform = source::find_platform(job->url);
  try {
    if (platform == nullptr) {
      result = core::make_error(source::Errc::unsupported_url,
                                "no supported platform recognises this link");
    } else {
      source::Options module_options;
      if (auto it = m_options.modules.find(platform->name); it != m_options.modules.end()) {
        module_options.insert(it->second.begin(), it->second.end());
      }
      auto module = platform->make(module_options);
      http::Client client(m_options.http);
      RecordingSink sink(m_sink, [this, job](const store::Ingested& in) {
        std::lock_guard<std::mutex> lock(m_mutex);
        job->study_uids.insert(in.study_instance_uid);
      });
      source::Job sjob(sink, platform->name);
      sjob.on_progress = [this, job](const source::Job::Counters& c) {
        std::lock_guard<std::mutex> lock(m_mutex);
        job->counters = c;
        publish(*job, false);
      };
      {
        std::lock_guard<std::mutex> lock(m_mutex);
        job->live_job = &sjob;
        job->live_client = &client;
        if (job->cancel_requested || m_stopping) {
          sjob.cancel();
          client.cancel();
        }
      }
      source::Request request;
      request.url = job->url;
      request.password = job->password;
      result = module->fetch(request, sink, client, sjob);
      counters = sjob.counters();
      problems = sjob.problems();
      std::lock_guard<std::mutex> lock(m_mutex);
      job->live_job = nullptr;
      job->live_client = nullptr;
    }
  } catch (const std::exception& e) {
    result = core::make_error(std::make_error_code(std::errc::io_error),
                              std::string("fetch failed: ") + e.what());
  }
  std::lock_guard<std::mutex> lock(m_mutex);
  --m_running;
  m_slot.notify_all();
  job->counters = counters;
  if (problems.size() > k_max_problems) {
    problems.resize(k_max_problems);
  }
  job->problems = problems;
  job->finished_at = core::utc_timestamp();
  if (m_stopping) {
    job->state = "interrupted";
  } else if (job->cancel_requested) {
    job->state = "cancelled";
  } else if (!result) {
    const auto e = api_error(result.error());
    job->state = "failed";
    job->error_code = e.code;
    job->error_message = http::redact_urls_in(result.error().message());
  } else if (counters.failed > 0) {
    job->state = "failed";
    job->error_code = "incomplete";
    job->error_message = std::to_string(counters.failed) + " of "
                         + std::to_string(counters.instances)
                         + " images could not be stored; retry fetches only those";
  } else {
    job->state = "done";
  }
  CF_LOG(info, "web",
         "fetch job " << job->id << ": " << job->state << ", " << counters.stored << " stored, "
                      << counters.already << " already stored, " << counters.failed << " failed");
  publish(*job, true);
}

std::optional<std::string>
FetchJobs::json(const std::string& id) const
{
  std::lock_guard<std::mutex> lock(m_mutex);
  const auto it = m_jobs.find(id);
  if (it == m_jobs.end()) {
    return std::nullopt;
  }
  return to_json(*it->second);
}

std::string
FetchJobs::list_json() const
{
  std::lock_guard<std::mutex> lock(m_mutex);
  std::vector<const Record*> jobs;
  for (const auto& [id, job] : m_jobs) {
    jobs.push_back(job.get());
  }
  std::sort(jobs.begin(), jobs.end(), [](const Record* a, const Record* b) {
    return a->created_at != b->created_at ? a->created_at > b->created_at : a->id > b->id;
  });
  std::string out = "{\"jobs\":[";
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    out += (i ? "," : "") + to_json(*jobs[i]);
  }
  return out + "]}";
}

bool
FetchJobs::cancel_or_forget(const std::string& id)
{
  std::shared_ptr<Record> forget;
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    const auto it = m_jobs.find(id);
    if (it == m_jobs.end()) {
      return false;
    }
    auto& job = *it->second;
    if (!finished(job.state)) {
      job.cancel_requested = true;
      if (job.live_job != nullptr) {
        job.live_job->cancel();
        job.live_client->cancel();
      }
      m_slot.notify_all();
      return true;
    }
    forget = it->second;
    m_jobs.erase(it);
  }
  if (forget->thread.joinable()) {
    forget->thread.join();
  }
  std::error_code ec;
  std::filesystem::remove(m_options.dir / (id + ".json"), ec);
  return true;
}

core::Result<void>
FetchJobs::retry(const std::string& id, const std::optional<std::string>& password)
{
  std::shared_ptr<Record> job;
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    const auto it = m_jobs.find(id);
    if (it == m_jobs.end()) {
      return core::make_error(store::Errc::not_found, "no fetch job " + id);
    }
    job = it->second;
    if (!finished(job->state)) {
      return core::make_error(source::Errc::bad_request, "the job is still " + job->state);
    }
    if (password) {
      job->password = *password;
      job->has_password = !password->empty();
    }
    if (job->has_password && job->password.empty()) {
      return core::make_error(source::Errc::bad_request,
                              "the node was restarted: give the password again");
    }
  }
  launch(job);
  return {};
}

long
FetchJobs::running() const
{
  std::lock_guard<std::mutex> lock(m_mutex);
  return m_running;
}

void
FetchJobs::stop()
{
  std::vector<std::shared_ptr<Record>> jobs;
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_stopping = true;
    for (auto& [id, job] : m_jobs) {
      if (job->live_job != nullptr) {
        job->live_job->cancel();
        job->live_client->cancel();
      }
      jobs.push_back(job);
    }
    m_slot.notify_all();
  }
  for (auto& job : jobs) {
    if (job->thread.joinable()) {
      job->thread.join();
    }
  }
}

} // namespace web
