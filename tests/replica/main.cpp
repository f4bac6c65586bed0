// SPDX-License-Identifier: GPL-3.0-or-later
// cloudfilm_replica: a local Hinacom viewer (and its cq12320 / jdyfy front
// doors) serving a folder of real DICOM files the way the platform splits
// them (platforms.md 8.3.1-8.3.3), for the `cloudfilm fetch` tests and the
// fetch benchmark. See README.md beside this file.
#include "corpus.hpp"
#include "hinacom_replica.hpp"

#include <dicom/codecs.hpp>
#include <dicom/setup.hpp>

#include <pthread.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

namespace {

const char* const k_usage =
    "usage: cloudfilm_replica --fixtures DIR --ports-file FILE [options]\n"
    "  --fixtures DIR         Part 10 files of one study (searched recursively)\n"
    "  --ports-file FILE      written once listening: {\"report\": R, \"viewer\": V, "
    "\"share_url\": ...}\n"
    "  --door D               hinacom (default), cq12320 or jdyfy\n"
    "  --host NAME            host name in the links handed out (default "
    "test.medicalimagecloud.com)\n"
    "  --password P           share password (hinacom door; default 1234)\n"
    "  --prefix P             viewer mount point, e.g. /a/b (cq12320: "
    "/wcs1/mdmis-app/h5/api/qinming_h5)\n"
    "  --cac-ttl S            CAC_AUTH lifetime in seconds, fractions allowed (default 120)\n"
    "  --latency-ms N         sleep N ms before every response\n"
    "  --fault ROUTE:KIND[:ARG][@CALLS]   repeatable; ROUTE a name (share login viewimage entry\n"
    "                         studyview imageset renew tags j2k raw home check pacsentry phone) or "
    "a\n"
    "                         path pattern; KIND status rate_limit rate_limit_503 delay drip "
    "stall\n"
    "                         truncate truncate_chunked reset html short wrong_type gzip; CALLS "
    "N,\n"
    "                         N-M, N- or %K (every K-th), default all\n"
    "  --cancelled            the share was cancelled\n"
    "  --shuffle-vars         StudyView's four vars in another order\n"
    "  --login-redirect       answer the password POST with a 302 to the report page\n"
    "  --no-hidden-field      jdyfy: the phone page has no StudyId field\n"
    "  --no-sf-cookie-check   cq12320: accept the share check without SF_cookie_15\n"
    "  --storage-node NAME    GetImageSet's storageNode (default null)\n"
    "  --include-binary       tag lists carry OB/OW/UN as hex and SQ as \"\"\n"
    "  --bare-codestream      j2k route: a bare codestream, no JP2 boxes\n"
    "  --irreversible         j2k route: 9/7 wavelet (lossy)\n"
    "Runs until SIGTERM or SIGINT. GET /__control/log on either port: the request log.\n";

[[noreturn]] void
usage_error(const std::string& message)
{
  std::fprintf(stderr, "cloudfilm_replica: %s\n%s", message.c_str(), k_usage);
  std::exit(2);
}

} // namespace

int
main(int argc, char** argv)
{
  std::filesystem::path fixtures;
  std::filesystem::path ports_file;
  replica::ReplicaOptions options;
  replica::CorpusOptions corpus_options;
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
      } else if (arg == "--host") {
        options.host = value();
      } else if (arg == "--password") {
        options.password = value();
      } else if (arg == "--prefix") {
        options.prefix = value();
      } else if (arg == "--cac-ttl") {
        options.cac_ttl = std::chrono::milliseconds(static_cast<long>(std::stod(value()) * 1000));
      } else if (arg == "--latency-ms") {
        options.latency = std::chrono::milliseconds(std::stol(value()));
      } else if (arg == "--fault") {
        options.faults.push_back(value());
      } else if (arg == "--door") {
        const auto door = value();
        if (door == "hinacom" || door == "medicalimagecloud") {
          options.door = replica::Door::hinacom;
        } else if (door == "cq12320") {
          options.door = replica::Door::cq12320;
        } else if (door == "jdyfy") {
          options.door = replica::Door::jdyfy;
        } else {
          usage_error("unknown door '" + door + "'");
        }
      } else if (arg == "--cancelled") {
        options.cancelled = true;
      } else if (arg == "--shuffle-vars") {
        options.shuffle_vars = true;
      } else if (arg == "--login-redirect") {
        options.login_redirect = true;
      } else if (arg == "--no-hidden-field") {
        options.no_hidden_field = true;
      } else if (arg == "--no-sf-cookie-check") {
        options.require_sf_cookie = false;
      } else if (arg == "--storage-node") {
        options.storage_node = value();
      } else if (arg == "--include-binary") {
        corpus_options.include_binary = true;
      } else if (arg == "--bare-codestream") {
        corpus_options.bare_codestream = true;
      } else if (arg == "--irreversible") {
        corpus_options.irreversible = true;
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

  // Signals are taken by sigwait() below; block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  try {
    if (auto ok = dicom::setup_dcmtk(core::log::Level::error); !ok) {
      std::fprintf(stderr, "cloudfilm_replica: %s\n", ok.error().message().c_str());
      return 1;
    }
    dicom::register_codecs();
    auto study = replica::load_study(fixtures, corpus_options);
    std::size_t count = 0;
    for (const auto& s : study.series) {
      count += s.instances.size();
    }
    replica::Replica server(std::move(study), options);

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
    std::fprintf(stderr, "cloudfilm_replica: %zu instances; report port %d, viewer port %d; %s\n",
                 count, info["report"].get<int>(), info["viewer"].get<int>(),
                 info["share_url"].get<std::string>().c_str());

    int signal_number = 0;
    sigwait(&signals, &signal_number);
    server.stop();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cloudfilm_replica: %s\n", e.what());
    return 1;
  }
  return 0;
}
