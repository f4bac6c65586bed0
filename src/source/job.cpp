// SPDX-License-Identifier: GPL-3.0-or-later
#include "job.hpp"

#include <core/fs.hpp>
#include <core/log.hpp>
#include <core/strings.hpp>

#include <algorithm>
#include <cstdio>
#include <thread>

namespace source {

namespace fs = std::filesystem;

Job::Job(store::IngestSink& sink, std::string module, fs::path out)
    : m_sink(sink), m_module(std::move(module)), m_out(std::move(out))
{
}

void
Job::changed()
{
  if (on_progress) {
    on_progress(counters());
  }
}

void
Job::add_series(long n)
{
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_counters.series += n;
  }
  changed();
}

void
Job::add_instances(long n)
{
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_counters.instances += n;
  }
  changed();
}

void
Job::add_bytes(std::uint64_t n)
{
  std::lock_guard<std::mutex> lock(m_mutex);
  m_counters.bytes += n;
}

void
Job::skipped(const std::string& why)
{
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    ++m_counters.skipped;
    m_problems.push_back("skipped: " + why);
  }
  changed();
}

void
Job::failed(const std::string& what)
{
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    ++m_counters.failed;
    m_problems.push_back("failed: " + what);
  }
  changed();
}

void
Job::already_stored(const std::string& sop_uid, const ExportName* name)
{
  if (name != nullptr && !m_out.empty()) {
    if (const auto file = m_sink.stored_file(sop_uid); !file.empty()) {
      export_file(file, *name);
    }
  }
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    ++m_counters.already;
  }
  changed();
}

void
Job::export_file(const fs::path& file, const ExportName& name)
{
  fs::path dir;
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    auto it = m_series_dirs.find(name.series_key);
    if (it == m_series_dirs.end()) {
      const auto study = m_out / study_folder(name);
      const auto base = series_folder(name);
      auto candidate = study / base;
      // Two series with the same name: "name (1)", "name (2)"...
      for (int k = 1; std::any_of(m_series_dirs.begin(), m_series_dirs.end(),
                                  [&](const auto& e) { return e.second == candidate; });
           ++k) {
        candidate = study / (base + " (" + std::to_string(k) + ")");
      }
      it = m_series_dirs.emplace(name.series_key, candidate).first;
    }
    dir = it->second;
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  const auto target = dir / instance_file(name);
  fs::remove(target, ec);
  if (auto r = core::fs::copy_new(file, target); !r) {
    failed("export " + target.string() + ": " + r.error().message());
  }
}

core::Result<store::Ingested>
Job::deliver(const fs::path& file, const ExportName& name)
{
  if (!m_out.empty()) {
    export_file(file, name);
  }
  const store::Origin origin{store::Origin::Kind::source, m_module};
  auto result = m_sink.ingest(file, origin);
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    if (!result) {
      ++m_counters.failed;
      m_problems.push_back("failed: " + result.error().message());
    } else if (result->duplicate) {
      ++m_counters.already;
    } else {
      ++m_counters.stored;
    }
  }
  changed();
  return result;
}

void
Job::cancel()
{
  m_cancelled = true;
}

bool
Job::cancelled() const
{
  return m_cancelled;
}

Job::Counters
Job::counters() const
{
  std::lock_guard<std::mutex> lock(m_mutex);
  return m_counters;
}

std::vector<std::string>
Job::problems() const
{
  std::lock_guard<std::mutex> lock(m_mutex);
  return m_problems;
}

void
for_each_parallel(std::size_t count, int threads, const Job& job,
                  const std::function<void(std::size_t)>& f)
{
  std::atomic<std::size_t> next{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      for (std::size_t k = next++; k < count && !job.cancelled(); k = next++) {
        f(k);
      }
    });
  }
  for (auto& w : workers) {
    w.join();
  }
}

std::string
safe_name(const std::string& name, const std::string& fallback)
{
  static const std::pair<char, const char*> k_lookalikes[] = {
      {':', "\xEF\xBC\x9A"},  {'*', "\xEF\xBC\x8A"}, {'?', "\xEF\xBC\x9F"}, {'"', "'"},
      {'|', "\xEF\xBD\x9C"},  {'<', "\xEF\xBC\x9C"}, {'>', "\xEF\xBC\x9E"}, {'/', "\xEF\xBC\x8F"},
      {'\\', "\xEF\xBC\xBC"},
  };
  std::string out;
  for (const char c : core::sanitize_utf8(core::trim(name))) {
    const auto* hit = std::find_if(std::begin(k_lookalikes), std::end(k_lookalikes),
                                   [c](const auto& p) { return p.first == c; });
    if (hit != std::end(k_lookalikes)) {
      out += hit->second;
    } else if (static_cast<unsigned char>(c) >= 0x20 && c != 0x7F) {
      out += c;
    }
  }
  // Windows drops trailing dots and spaces; keep names round-trippable.
  while (!out.empty() && (out.back() == '.' || out.back() == ' ')) {
    out.pop_back();
  }
  if (out.size() > 120) {
    std::size_t cut = 120;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) {
      --cut;
    }
    out.resize(cut);
  }
  const auto upper = core::to_upper_ascii(out.substr(0, out.find('.')));
  static const char* const k_devices[] = {
      "CON",  "PRN",  "AUX",  "NUL",  "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7",
      "COM8", "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9"};
  for (const auto* d : k_devices) {
    if (upper == d) {
      out = "_" + out;
      break;
    }
  }
  return out.empty() || out == "." || out == ".." ? fallback : out;
}

std::string
study_folder(const ExportName& name)
{
  std::string date;
  for (const char c : name.datetime) {
    if (c != '-' && c != ':' && c != ' ') {
      date += c;
    }
  }
  return safe_name(safe_name(name.patient, "Unknown") + "-" + safe_name(name.exam, "Study") + "-"
                       + safe_name(date, "0"),
                   "Study");
}

std::string
series_folder(const ExportName& name)
{
  const auto description = safe_name(name.series_description, "");
  if (name.series_number) {
    return description.empty()
               ? std::to_string(*name.series_number)
               : safe_name(std::to_string(*name.series_number) + "-" + description, "Unnamed");
  }
  return description.empty() ? "Unnamed" : description;
}

std::string
instance_file(const ExportName& name)
{
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%05zu.dcm", name.index + 1);
  return buf;
}

} // namespace source
