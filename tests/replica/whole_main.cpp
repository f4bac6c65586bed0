// SPDX-License-Identifier: GPL-3.0-or-later
// cloudfilm_replica_whole: a local shdc, zscloud or mtywcloud serving a
// folder of real DICOM files as whole Part 10 files, the way the platform
// does (platforms.md 8.3.4, 8.3.5, 8.3.8). See README-whole.md beside this file.
#include "corpus.hpp"
#include "whole_replica.hpp"

#include <dicom/codecs.hpp>
#include <dicom/setup.hpp>

#include <pthread.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace {

const char* const k_usage =
    "usage: cloudfilm_replica_whole --platform shdc|zscloud|mtywcloud --fixtures DIR --ports-file "
    "FILE [options]\n"
    "  --fixtures DIR         Part 10 files of one study (searched recursively)\n"
    "  --ports-file FILE      written once listening: {\"port\": P, \"share_url\": ..., "
    "\"images\": ...}\n"
    "  --host NAME            host name in the links (default: the platform's own)\n"
    "  --latency-ms N         sleep N ms before every response\n"
    "  --fault ROUTE:KIND[:ARG][@CALLS]   repeatable; ROUTE a name (shdc: verify detail list "
    "file;\n"
    "                         zscloud: config share token imageservice; mtywcloud: viewer connect "
    "info\n"
    "                         file) or a path pattern; KIND status rate_limit rate_limit_503 delay "
    "drip\n"
    "                         stall truncate truncate_chunked reset html short wrong_type gzip\n"
    "  --expired              the share expired (shdc code 1005, zscloud code, mtywcloud Success "
    "false)\n"
    "  --key K                the server's key (shdc KEY, zscloud config key, mtywcloud AES key)\n"
    "  --iv V                 mtywcloud AES IV\n"
    "  --token-ttl S          zscloud access token lifetime in seconds (fractions allowed, default "
    "3600)\n"
    "  --reject-token         zscloud: refuse every Bearer token\n"
    "  --two-studies          zscloud: the share's study info has a second record\n"
    "  --skew-ms N            shdc: the server clock is N ms ahead (Authorization window is +-10 "
    "min)\n"
    "Runs until SIGTERM or SIGINT. GET /__control/log: the request log.\n";

[[noreturn]] void
usage_error(const std::string& message)
{
  std::fprintf(stderr, "cloudfilm_replica_whole: %s\n%s", message.c_str(), k_usage);
  std::exit(2);
}

} // namespace

int
main(int argc, char** argv)
{
  std::filesystem::path fixtures;
  std::filesystem::path ports_file;
  replica::WholeOptions options;
  bool have_platform = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        usage_error(arg + " needs a value");
      }
      return argv[++i];
    };
    try {
      if (arg == "--fixtures") {
        fixtures = value();
      } else if (arg == "--ports-file") {
        ports_file = value();
      } else if (arg == "--platform") {
        const auto p = value();
        have_platform = true;
        if (p == "shdc") {
          options.platform = replica::WholePlatform::shdc;
        } else if (p == "zscloud") {
          options.platform = replica::WholePlatform::zscloud;
        } else if (p == "mtywcloud") {
          options.platform = replica::WholePlatform::mtywcloud;
        } else {
          usage_error("unknown platform '" + p + "'");
        }
      } else if (arg == "--host") {
        options.host = value();
      } else if (arg == "--latency-ms") {
        options.latency = std::chrono::milliseconds(std::stol(value()));
      } else if (arg == "--fault") {
        options.faults.push_back(value());
      } else if (arg == "--expired") {
        options.expired = true;
      } else if (arg == "--key") {
        options.key = value();
      } else if (arg == "--iv") {
        options.iv = value();
      } else if (arg == "--token-ttl") {
        options.token_ttl = std::chrono::milliseconds(static_cast<long>(std::stod(value()) * 1000));
      } else if (arg == "--reject-token") {
        options.reject_token = true;
      } else if (arg == "--two-studies") {
        options.two_studies = true;
      } else if (arg == "--skew-ms") {
        options.skew = std::chrono::milliseconds(std::stol(value()));
      } else if (arg == "-h" || arg == "--help") {
        std::fputs(k_usage, stdout);
        return 0;
      } else {
        usage_error("unknown argument '" + arg + "'");
      }
    } catch (const std::invalid_argument&) {
      usage_error(arg + ": a number was expected");
    }
  }
  if (fixtures.empty() || ports_file.empty() || !have_platform) {
    usage_error("--platform, --fixtures and --ports-file are required");
  }

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  try {
    if (auto ok = dicom::setup_dcmtk(core::log::Level::error); !ok) {
      std::fprintf(stderr, "cloudfilm_replica_whole: %s\n", ok.error().message().c_str());
      return 1;
    }
    dicom::register_codecs();
    auto study = replica::load_study(fixtures, replica::CorpusOptions{});
    replica::WholeReplica server(std::move(study), options);
    const auto info = server.info();
    const auto tmp = ports_file.string() + ".tmp";
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      out << info.dump(2) << "\n";
      if (!out) {
        throw std::runtime_error("cannot write " + tmp);
      }
    }
    std::filesystem::rename(tmp, ports_file);
    std::fprintf(stderr, "cloudfilm_replica_whole: %zu entries on port %d; %s\n",
                 info["images"].size(), info["port"].get<int>(),
                 info["share_url"].get<std::string>().c_str());
    int signal_number = 0;
    sigwait(&signals, &signal_number);
    server.stop();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cloudfilm_replica_whole: %s\n", e.what());
    return 1;
  }
  return 0;
}
