// SPDX-License-Identifier: GPL-3.0-or-later
// send, queue and echo: the command-line side of forwarding.
#include "commands.hpp"
#include "table.hpp"

#include <core/log.hpp>
#include <forward/job_store.hpp>
#include <forward/sender.hpp>
#include <net/echo_scu.hpp>
#include <net/setup.hpp>

#include <nlohmann/json.hpp>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <set>
#include <thread>

namespace app {

namespace {

std::atomic<bool> g_interrupted{false};

extern "C" void
on_interrupt(int)
{
  g_interrupted = true;
}

std::unique_ptr<forward::JobStore>
open_jobs(const config::Config& config)
{
  auto jobs = forward::JobStore::open(config.storage.path / "index.sqlite");
  if (!jobs) {
    std::fprintf(stderr, "cloudfilm: %s\n", jobs.error().message().c_str());
    return nullptr;
  }
  return std::move(*jobs);
}

std::string
configured_names(const config::Config& config)
{
  std::string names;
  for (const auto& [name, m] : config.modalities) {
    names += (names.empty() ? "" : ", ") + name;
  }
  return names.empty() ? "none; add one under modalities: in the configuration" : names;
}

// All instances below a study, series or SOP instance UID.
std::vector<store::RetrieveItem>
resolve_uid(store::Query& query, const std::string& uid)
{
  const std::pair<store::Level, std::uint32_t> levels[] = {{store::Level::study, 0x0020000D},
                                                           {store::Level::series, 0x0020000E},
                                                           {store::Level::image, 0x00080018}};
  for (const auto& [level, tag] : levels) {
    store::FindRequest request;
    request.model = store::Model::study_root;
    request.level = level;
    request.keys.push_back({tag, uid, false});
    auto items = query.retrieve(request);
    if (items && !items->empty()) {
      return *items;
    }
  }
  return {};
}

std::string
when(double t)
{
  if (t <= 0) {
    return "";
  }
  const double in = t - forward::now_seconds();
  if (in <= 0) {
    return "now";
  }
  return "in " + std::to_string(static_cast<long>(in + 0.5)) + " s";
}

void
print_progress(const forward::JobSummary& j)
{
  std::fprintf(stderr, "job %ld: %ld done, %ld warning, %ld failed, %ld pending%s%s\n", j.id,
               j.done, j.warning, j.failed, j.pending,
               j.last_error.empty() ? "" : "; last error: ", j.last_error.c_str());
}

} // namespace

int
run_send(const config::Config& config, const SendOptions& options)
{
  const auto to = config.modalities.find(options.to);
  if (to == config.modalities.end()) {
    std::fprintf(stderr, "cloudfilm: send: no modality '%s' (configured: %s)\n", options.to.c_str(),
                 configured_names(config).c_str());
    return 2;
  }
  if (!to->second.reachable()) {
    std::fprintf(stderr,
                 "cloudfilm: send: modality '%s' has no host and port; add them to send to it\n",
                 options.to.c_str());
    return 2;
  }
  auto st = open_store(config);
  auto jobs = st ? open_jobs(config) : nullptr;
  if (!jobs) {
    return 1;
  }
  std::vector<std::string> sops;
  std::set<std::string> seen;
  std::string study;
  for (const auto& uid : options.uids) {
    const auto items = resolve_uid(st->query(), uid);
    if (items.empty()) {
      std::fprintf(stderr, "cloudfilm: send: no study, series or instance %s in the store\n",
                   uid.c_str());
      return 1;
    }
    for (const auto& item : items) {
      if (seen.insert(item.sop_instance_uid).second) {
        sops.push_back(item.sop_instance_uid);
      }
    }
  }
  if (auto row = st->query().instance(sops.front()); row && row->has_value()) {
    study = (*row)->study_instance_uid;
  }
  auto id = jobs->create(options.to, "send", study, sops);
  if (!id) {
    std::fprintf(stderr, "cloudfilm: send: %s\n", id.error().message().c_str());
    return 1;
  }
  std::printf("queued job %ld: %zu instances to %s\n", *id, sops.size(), options.to.c_str());
  std::fflush(stdout); // scripts read the job number while --wait runs
  if (!options.wait) {
    std::printf("the running node sends it (or run: cloudfilm send --wait, cloudfilm queue)\n");
    return 0;
  }

  // Drain this job here, honouring the retry policy; Ctrl-C leaves it queued.
  net::setup_network();
  std::signal(SIGINT, on_interrupt);
  std::signal(SIGTERM, on_interrupt);
  const auto fopts = forward_options(config);
  const std::string owner = "send-" + std::to_string(::getpid());
  for (;;) {
    auto job = jobs->job(*id);
    if (!job || !job->has_value()) {
      std::fprintf(stderr, "cloudfilm: send: job %ld vanished\n", *id);
      return 1;
    }
    const auto& j = **job;
    if (j.state != forward::JobState::pending) {
      print_progress(j);
      std::printf("job %ld %s\n", j.id, forward::to_string(j.state));
      return j.state == forward::JobState::done ? 0 : 1;
    }
    if (g_interrupted) {
      std::fprintf(stderr, "interrupted; job %ld stays queued\n", j.id);
      return 130;
    }
    if (j.next_attempt > forward::now_seconds()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      continue;
    }
    if (!forward::run_attempt(*jobs, st->query(), fopts, j.id, owner, g_interrupted)) {
      std::this_thread::sleep_for(std::chrono::seconds(1)); // the node holds it; watch
      continue;
    }
    if (auto after = jobs->job(*id); after && after->has_value()) {
      print_progress(**after);
      if ((*after)->state == forward::JobState::pending) {
        std::fprintf(stderr, "next attempt %s\n", when((*after)->next_attempt).c_str());
      }
    }
  }
}

int
run_queue(const config::Config& config, const QueueOptions& options)
{
  auto jobs = open_jobs(config);
  if (!jobs) {
    return 1;
  }
  if (options.action == "retry" || options.action == "cancel") {
    auto r = options.action == "retry" ? jobs->retry(options.job) : jobs->cancel(options.job);
    if (!r) {
      std::fprintf(stderr, "cloudfilm: queue: %s\n", r.error().message().c_str());
      return 1;
    }
    if (!*r) {
      std::fprintf(stderr, "cloudfilm: queue: no %sjob %ld\n",
                   options.action == "cancel" ? "pending " : "", options.job);
      return 1;
    }
    std::printf("job %ld %s\n", options.job,
                options.action == "retry" ? "queued again" : "cancelled");
    return 0;
  }
  auto list = jobs->list();
  if (!list) {
    std::fprintf(stderr, "cloudfilm: queue: %s\n", list.error().message().c_str());
    return 1;
  }
  if (options.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& j : *list) {
      out.push_back({{"id", j.id},
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
                     {"failed", j.failed}});
    }
    std::cout << out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return 0;
  }
  Table table({"JOB", "TO", "STATE", "DONE", "WARN", "FAILED", "PENDING", "ATTEMPTS", "NEXT",
               "STUDY", "LAST ERROR"});
  for (const auto& j : *list) {
    table.add({std::to_string(j.id), j.destination, forward::to_string(j.state),
               std::to_string(j.done), std::to_string(j.warning), std::to_string(j.failed),
               std::to_string(j.pending), std::to_string(j.attempts),
               j.state == forward::JobState::pending ? when(j.next_attempt) : "", j.study_uid,
               j.last_error});
  }
  table.print(std::cout);
  return 0;
}

int
run_echo(const config::Config& config, const std::string& modality)
{
  const auto it = config.modalities.find(modality);
  if (it == config.modalities.end()) {
    std::fprintf(stderr, "cloudfilm: echo: no modality '%s' (configured: %s)\n", modality.c_str(),
                 configured_names(config).c_str());
    return 2;
  }
  const auto& m = it->second;
  if (!m.reachable()) {
    std::fprintf(stderr,
                 "cloudfilm: echo: modality '%s' has no host and port; add them to reach it\n",
                 modality.c_str());
    return 2;
  }
  net::setup_network();
  const net::StoreTarget target{
      config.node.ae_title,      m.ae_title,         m.host, m.port, config.node.acse_timeout,
      config.node.dimse_timeout, config.node.max_pdu};
  auto rtt = net::echo(target);
  if (!rtt) {
    std::fprintf(stderr, "cloudfilm: echo %s: %s\n", modality.c_str(),
                 rtt.error().message().c_str());
    return 1;
  }
  std::printf("%s (%s@%s:%d): C-ECHO ok in %.1f ms\n", modality.c_str(), m.ae_title.c_str(),
              m.host.c_str(), m.port, *rtt);
  return 0;
}

} // namespace app
