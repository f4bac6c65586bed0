// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// Shared set-up of the libFuzzer harnesses (README.md): DCMTK and codecs
// initialised once, logs silenced, a per-process scratch folder, a store
// sink that only reads what it is given, and a cap on DCMTK's nothrow
// allocations.

#include <core/log.hpp>
#include <dicom/codecs.hpp>
#include <dicom/instance_info.hpp>
#include <dicom/setup.hpp>
#include <store/ingest.hpp>

#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <new>
#include <string>
#include <string_view>

namespace cf_fuzz {

namespace fs = std::filesystem;

// DCMTK allocates element values by the (untrusted) length field with
// new(std::nothrow) and copes with nullptr. Without a cap a 400-byte input
// declaring 3.7 GB makes libFuzzer report an out-of-memory that is not a bug
// of ours (SCALE-SECURITY.md 5.4; OSS-Fuzz's DCMTK harness does the same).
// Throwing new (our code, std containers) stays uncapped: a huge allocation
// there is a finding.
inline constexpr std::size_t k_nothrow_cap = 8u << 20;

// Scratch folder of this process, removed at exit.
inline const fs::path&
scratch()
{
  static const fs::path dir = [] {
    std::string tmpl = (fs::temp_directory_path() / "cf-fuzz-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
      std::perror("mkdtemp");
      std::abort();
    }
    static const std::string keep = tmpl;
    std::atexit([] {
      std::error_code ec;
      fs::remove_all(keep, ec);
    });
    return fs::path(tmpl);
  }();
  return dir;
}

inline void
write_file(const fs::path& file, std::string_view data)
{
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

// DCMTK, codecs and logging, once per process.
inline void
init()
{
  static const bool done = [] {
    core::log::set_level(core::log::Level::off);
    if (auto r = dicom::setup_dcmtk(core::log::Level::off); !r) {
      std::fprintf(stderr, "setup_dcmtk: %s\n", r.error().message().c_str());
      std::abort();
    }
    dicom::register_codecs();
    (void)scratch();
    return true;
  }();
  (void)done;
}

// An IngestSink that reads the indexed attributes of what it gets (more
// parser coverage) and drops the file. `on_ingest` may inspect it first.
class ReadingSink : public store::IngestSink
{
public:
  fs::path spool_path() override { return scratch() / ("spool-" + std::to_string(m_next++)); }

  core::Result<store::Ingested> ingest(const fs::path& file, const store::Origin&,
                                       const store::Claimed&) override
  {
    if (on_ingest) {
      on_ingest(file);
    }
    auto info = dicom::read_instance_info(file);
    std::error_code ec;
    fs::remove(file, ec);
    if (!info) {
      return core::Result<store::Ingested>(info.error());
    }
    store::Ingested done;
    done.sop_instance_uid = info->sop_instance_uid;
    done.study_instance_uid = info->study_instance_uid;
    done.series_instance_uid = info->series_instance_uid;
    done.modality = info->modality;
    return done;
  }

  bool contains(const std::string&) override { return false; }
  fs::path stored_file(const std::string&) override { return {}; }

  void (*on_ingest)(const fs::path&) = nullptr;

private:
  std::atomic<long> m_next{0};
};

} // namespace cf_fuzz

// Replacements of the nothrow forms only (see k_nothrow_cap). They forward to
// the throwing forms so ASan's new/delete pairing stays intact.
void* operator new(std::size_t n, const std::nothrow_t&) noexcept;
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept;
