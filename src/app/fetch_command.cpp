// SPDX-License-Identifier: GPL-3.0-or-later
// cloudfilm fetch: a cloud-film link in, the study in the store.
#include "commands.hpp"
#include "table.hpp"

#include <http/client.hpp>
#include <http/global.hpp>
#include <source/source.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <unistd.h>

namespace app {

namespace {

std::atomic<bool> g_interrupt{false};

extern "C" void
on_signal(int)
{
  g_interrupt = true;
}

std::string
platform_list()
{
  std::string out;
  for (const auto& p : source::platforms()) {
    out += (out.empty() ? "" : ", ") + p.name;
  }
  return out;
}

} // namespace

int
run_fetch(const config::Config& config, const FetchOptions& options)
{
  if (options.list_platforms) {
    Table table({"PLATFORM", "LINK FORM"});
    for (const auto& p : source::platforms()) {
      table.add({p.name, p.url_forms});
    }
    table.print(std::cout);
    return 0;
  }
  const auto* platform = source::find_platform(options.url);
  if (platform == nullptr) {
    std::fprintf(stderr, "cloudfilm: fetch: unsupported link; supported platforms: %s "
                         "(cloudfilm fetch --list-platforms)\n",
                 platform_list().c_str());
    return 2;
  }
  auto intake = open_intake(config);
  if (!intake) {
    return 1;
  }
  auto& sink = *intake->sink;

  http::global_init();
  http::Options hopts;
  hopts.max_per_host = config.fetch.max_per_host;
  hopts.retries = config.fetch.retries;
  hopts.timeout = std::chrono::seconds(config.fetch.timeout);
  hopts.idle_timeout = std::chrono::seconds(config.fetch.idle_timeout);
  hopts.proxy = config.fetch.proxy;
  hopts.resolve = config.fetch.resolve;
  hopts.resolve.insert(hopts.resolve.end(), options.resolve.begin(), options.resolve.end());
  http::Client client(hopts);

  source::Options module_options;
  if (auto it = config.fetch.modules.find(platform->name); it != config.fetch.modules.end()) {
    module_options.insert(it->second.begin(), it->second.end());
  }
  auto module = platform->make(module_options);
  source::Job job(sink, platform->name, options.out);

  const auto start = std::chrono::steady_clock::now();
  const bool tty = ::isatty(STDERR_FILENO);
  auto last_draw = start;
  job.on_progress = [&](const source::Job::Counters& c) {
    if (g_interrupt && !job.cancelled()) {
      job.cancel();
      client.cancel();
    }
    if (!tty) {
      return;
    }
    const auto now = std::chrono::steady_clock::now();
    if (now - last_draw < std::chrono::milliseconds(200)) {
      return;
    }
    last_draw = now;
    const double s = std::chrono::duration<double>(now - start).count();
    const long finished = c.stored + c.already + c.skipped + c.failed;
    const double rate = s > 0 ? finished / s : 0;
    const long left = c.instances - finished;
    std::fprintf(stderr, "\r%ld series, %ld/%ld instances, %.1f MB, %.1f/s, ETA %lds   ", c.series,
                 finished, c.instances, static_cast<double>(c.bytes) / 1e6, rate,
                 rate > 0 ? static_cast<long>(left / rate) : 0L);
  };
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);

  source::Request request;
  request.url = options.url;
  request.password = options.password;
  request.raw = options.raw;
  request.study_uid = options.study_uid;
  const auto result = module->fetch(request, sink, client, job);
  if (tty) {
    std::fputc('\n', stderr);
  }
  const auto c = job.counters();
  for (const auto& p : job.problems()) {
    std::fprintf(stderr, "cloudfilm: fetch: %s\n", p.c_str());
  }
  const double seconds =
    std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%s: %ld stored, %ld already stored, %ld skipped (not DICOM), %ld failed; "
              "%.1f MB in %.1f s\n",
              platform->name.c_str(), c.stored, c.already, c.skipped, c.failed,
              static_cast<double>(c.bytes) / 1e6, seconds);
  if (!result) {
    std::fprintf(stderr, "cloudfilm: fetch: %s\n", result.error().message().c_str());
    return g_interrupt ? 130 : 1;
  }
  return c.failed == 0 ? 0 : 1;
}

} // namespace app
