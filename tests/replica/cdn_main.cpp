// SPDX-License-Identifier: GPL-3.0-or-later
// cloudfilm_replica_cdn: local yzhcloud / sugh / szjudianyun platforms serving
// a folder of real DICOM files as whole Part 10 files, byte for byte
// (platforms.md 8.3.7, 8.3.9, 8.3.10), for tests/integration/test_fetch_cdn.py.
#include "cdn_replica.hpp"
#include "corpus.hpp"
#include "sio_replica.hpp"

#include <dicom/codecs.hpp>
#include <dicom/setup.hpp>

#include <pthread.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

namespace {

const char* const k_usage =
    "usage: cloudfilm_replica_cdn --platform P --fixtures DIR --ports-file FILE [options]\n"
    "  --platform P           yzhcloud, sugh or szjudianyun\n"
    "  --fixtures DIR         Part 10 files of one study (searched recursively)\n"
    "  --ports-file FILE      written once listening: {\"port\": N, \"share_url\": ..., "
    "\"resolve\": [...]}\n"
    "  --latency-ms N         sleep N ms before every response\n"
    "  --expired              the share is gone (yzhcloud: null listing; sugh: code \"500\")\n"
    "  --fault ROUTE:KIND[:ARG][@CALLS]   repeatable; ROUTE a name (yzhcloud: listing file;\n"
    "                         sugh: share index file) or a path pattern; KIND status rate_limit\n"
    "                         rate_limit_503 delay drip stall truncate truncate_chunked reset "
    "html\n"
    "                         short wrong_type gzip; CALLS N, N-M, N- or %K, default all\n"
    "                         szjudianyun: polling:status:CODE, polling:rate_limit[:S], "
    "hangC:close,\n"
    "                         hangC:noise, hangC:fragment, hangC:no_prefix, saveC:silent, "
    "saveC:close\n"
    "Runs until SIGTERM or SIGINT. GET /__control/log: the request log.\n";

[[noreturn]] void
usage_error(const std::string& message)
{
  std::fprintf(stderr, "cloudfilm_replica_cdn: %s\n%s", message.c_str(), k_usage);
  std::exit(2);
}

} // namespace

int
main(int argc, char** argv)
{
  std::filesystem::path fixtures;
  std::filesystem::path ports_file;
  replica::CdnOptions options;
  std::string platform;
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
        platform = value();
      } else if (arg == "--latency-ms") {
        options.latency = std::chrono::milliseconds(std::stol(value()));
      } else if (arg == "--fault") {
        options.faults.push_back(value());
      } else if (arg == "--expired") {
        options.expired = true;
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
  if (fixtures.empty() || ports_file.empty()) {
    usage_error("--fixtures and --ports-file are required");
  }
  const bool sio = platform == "szjudianyun";
  if (sio) {
  } else if (platform == "yzhcloud") {
    options.platform = replica::CdnPlatform::yzhcloud;
  } else if (platform == "sugh") {
    options.platform = replica::CdnPlatform::sugh;
  } else {
    usage_error("unknown --platform '" + platform + "'");
  }

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  try {
    if (auto ok = dicom::setup_dcmtk(core::log::Level::error); !ok) {
      std::fprintf(stderr, "cloudfilm_replica_cdn: %s\n", ok.error().message().c_str());
      return 1;
    }
    dicom::register_codecs();
    auto study = replica::load_study(fixtures, {});
    std::unique_ptr<replica::CdnReplica> cdn;
    std::unique_ptr<replica::SioReplica> socketio;
    if (sio) {
      replica::SioOptions so;
      so.latency = options.latency;
      so.expired = options.expired;
      so.faults = options.faults;
      socketio = std::make_unique<replica::SioReplica>(std::move(study), so);
    } else {
      cdn = std::make_unique<replica::CdnReplica>(std::move(study), options);
    }
    const auto info = sio ? socketio->info() : cdn->info();
    const auto tmp = ports_file.string() + ".tmp";
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      out << info.dump(2) << "\n";
      if (!out) {
        throw std::runtime_error("cannot write " + tmp);
      }
    }
    std::filesystem::rename(tmp, ports_file);
    std::fprintf(stderr, "cloudfilm_replica_cdn: %s on port %d; %s\n", platform.c_str(),
                 info["port"].get<int>(), info["share_url"].get<std::string>().c_str());
    int signal_number = 0;
    sigwait(&signals, &signal_number);
    if (sio) {
      // Connection threads are detached; leave without running destructors.
      socketio->stop();
      std::fflush(nullptr);
      std::_Exit(0);
    }
    cdn->stop();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cloudfilm_replica_cdn: %s\n", e.what());
    return 1;
  }
  return 0;
}
