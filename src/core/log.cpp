// SPDX-License-Identifier: GPL-3.0-or-later
#include "log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>

namespace core::log {

namespace {

std::atomic<Level> g_level{Level::info};
std::atomic<bool> g_timestamps{std::getenv("JOURNAL_STREAM") == nullptr};
std::mutex g_mutex;

const char*
level_name(Level level)
{
  switch (level) {
  case Level::trace:
    return "TRACE";
  case Level::debug:
    return "DEBUG";
  case Level::info:
    return "INFO";
  case Level::warn:
    return "WARN";
  case Level::error:
    return "ERROR";
  case Level::off:
    break;
  }
  return "";
}

} // namespace

std::string
escape_control(std::string_view text)
{
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) {
      static const char k_hex[] = "0123456789abcdef";
      out += "\\x";
      out += k_hex[u >> 4];
      out += k_hex[u & 0xF];
    } else {
      out += c;
    }
  }
  return out;
}

void
set_level(Level level)
{
  g_level = level;
}

Level
level()
{
  return g_level;
}

bool
parse_level(std::string_view text, Level& out)
{
  static constexpr std::pair<std::string_view, Level> k_names[] = {
      {"trace", Level::trace}, {"debug", Level::debug},  {"info", Level::info},
      {"warn", Level::warn},   {"warning", Level::warn}, {"error", Level::error},
      {"off", Level::off},
  };
  for (const auto& [name, value] : k_names) {
    if (text == name) {
      out = value;
      return true;
    }
  }
  return false;
}

void
set_timestamps(bool on)
{
  g_timestamps = on;
}

bool
enabled(Level level)
{
  return level >= g_level.load(std::memory_order_relaxed) && level != Level::off;
}

void
write(Level level, std::string_view category, std::string_view message)
{
  char stamp[40] = "";
  if (g_timestamps) {
    const auto now = std::chrono::system_clock::now();
    const auto t = std::chrono::system_clock::to_time_t(now);
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count()
        % 1000;
    std::tm tm{};
    localtime_r(&t, &tm);
    const auto n = std::strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
    std::snprintf(stamp + n, sizeof(stamp) - n, ".%03d ", static_cast<int>(ms));
  }
  // Peers choose AE titles, UIDs and file names: a newline or an escape
  // sequence in them must not forge log lines or drive the terminal.
  const auto safe = escape_control(message);
  std::lock_guard<std::mutex> lock(g_mutex);
  std::fprintf(stderr, "%s%s [%.*s] %.*s\n", stamp, level_name(level),
               static_cast<int>(category.size()), category.data(), static_cast<int>(safe.size()),
               safe.data());
}

} // namespace core::log
