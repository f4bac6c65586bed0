// SPDX-License-Identifier: GPL-3.0-or-later
// cloudfilm fetch: a cloud-film link in, the study in the store.
#include "commands.hpp"
#include "table.hpp"

#include <http/client.hpp>
#include <http/global.hpp>
#include <http/url.hpp>
#include <source/source.hpp>

#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <mutex>

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

// The first line of `file`, without its line end.
core::Result<std::string>
read_password_file(const std::string& file)
{
  std::ifstream in(file);
  std::string line;
  if (!in || !std::getline(in, line)) {
    return core::make_error(std::make_error_code(std::errc::io_error),
                            file + ": cannot read a password");
  }
  if (!line.empty() && line.back() == '\r') {
    line.pop_back();
  }
  return line;
}

// Ask on the terminal, without echo. Empty if there is no terminal.
std::string
prompt_password()
{
  if (!::isatty(STDIN_FILENO)) {
    return {};
  }
  std::fputs("share password or code: ", stderr);
  std::fflush(stderr);
  termios old{};
  const bool have_tty = ::tcgetattr(STDIN_FILENO, &old) == 0;
  if (have_tty) {
    termios quiet = old;
    quiet.c_lflag &= static_cast<tcflag_t>(~ECHO);
    quiet.c_lflag |= ECHONL;
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  std::string line;
  std::getline(std::cin, line);
  if (have_tty) {
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
  }
  return line;
}

// True if `error` says the link needs a password that was not given.
bool
needs_password(const core::Error& error)
{
  return error.code == source::Errc::bad_request
         && error.message().find("password") != std::string::npos;
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
  if (!options.password.empty() && !options.password_file.empty()) {
    std::fprintf(stderr, "cloudfilm: fetch: give --password or --password-file, not both\n");
    return 2;
  }
  std::string password = options.password;
  if (!options.password_file.empty()) {
    auto p = read_password_file(options.password_file);
    if (!p) {
      std::fprintf(stderr, "cloudfilm: fetch: %s\n", p.error().message().c_str());
      return 2;
    }
    password = *p;
  }
  const auto* platform = source::find_platform(options.url);
  if (platform == nullptr) {
    std::fprintf(stderr,
                 "cloudfilm: fetch: unsupported link; supported platforms: %s "
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
  auto hopts = http_options(config);
  hopts.resolve.insert(hopts.resolve.end(), options.resolve.begin(), options.resolve.end());
  http::Client client(hopts);

  source::Options module_options;
  if (auto it = config.fetch.modules.find(platform->name); it != config.fetch.modules.end()) {
    module_options.insert(it->second.begin(), it->second.end());
  }
  auto module = platform->make(module_options);

  const auto start = std::chrono::steady_clock::now();
  const bool tty = ::isatty(STDERR_FILENO);
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);

  // A link that needs a password none was given for: ask once on the
  // terminal, then fetch again.
  std::unique_ptr<source::Job> job_ptr;
  core::Result<void> result;
  for (int round = 0; round < 2; ++round) {
    job_ptr = std::make_unique<source::Job>(sink, platform->name, options.out);
    auto& job = *job_ptr;
    // Workers call on_progress concurrently (job.hpp): one of them draws at
    // a time, the others skip the frame.
    auto draw_mutex = std::make_shared<std::mutex>();
    auto last_draw = std::make_shared<std::chrono::steady_clock::time_point>(start);
    job.on_progress = [&, draw_mutex, last_draw](const source::Job::Counters& c) {
      if (g_interrupt && !job.cancelled()) {
        job.cancel();
        client.cancel();
      }
      if (!tty) {
        return;
      }
      std::unique_lock<std::mutex> lock(*draw_mutex, std::try_to_lock);
      if (!lock.owns_lock()) {
        return;
      }
      const auto now = std::chrono::steady_clock::now();
      if (now - *last_draw < std::chrono::milliseconds(200)) {
        return;
      }
      *last_draw = now;
      const double s = std::chrono::duration<double>(now - start).count();
      const long finished = c.stored + c.already + c.skipped + c.failed;
      const double rate = s > 0 ? finished / s : 0;
      const long left = c.instances - finished;
      std::fprintf(stderr, "\r%ld series, %ld/%ld instances, %.1f MB, %.1f/s, ETA %lds   ",
                   c.series, finished, c.instances, static_cast<double>(c.bytes) / 1e6, rate,
                   rate > 0 ? static_cast<long>(left / rate) : 0L);
    };

    source::Request request;
    request.url = options.url;
    request.password = password;
    request.raw = options.raw;
    request.study_uid = options.study_uid;
    result = module->fetch(request, sink, client, job);
    if (tty) {
      std::fputc('\n', stderr);
    }
    if (round > 0 || result || !password.empty() || !needs_password(result.error())
        || job.counters().stored > 0) {
      break;
    }
    password = prompt_password();
    if (password.empty()) {
      break;
    }
  }
  auto& job = *job_ptr;
  const auto c = job.counters();
  for (const auto& p : job.problems()) {
    std::fprintf(stderr, "cloudfilm: fetch: %s\n", http::redact_urls_in(p).c_str());
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%s: %ld stored, %ld already stored, %ld skipped (not DICOM), %ld failed; "
              "%.1f MB in %.1f s\n",
              platform->name.c_str(), c.stored, c.already, c.skipped, c.failed,
              static_cast<double>(c.bytes) / 1e6, seconds);
  if (!result) {
    std::fprintf(stderr, "cloudfilm: fetch: %s\n",
                 http::redact_urls_in(result.error().message()).c_str());
    return g_interrupt ? 130 : 1;
  }
  return c.failed == 0 ? 0 : 1;
}

} // namespace app
