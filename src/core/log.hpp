// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <sstream>
#include <string>
#include <string_view>

// Process-wide logging sink (stderr). Thread-safe. Each subsystem logs under a
// fixed category ("net", "store", ...). Log UIDs and AE titles, never patient
// names.
namespace core::log {

enum class Level { trace, debug, info, warn, error, off };

// Configure once from main(), before threads start. Timestamps are left out
// when running under systemd (JOURNAL_STREAM set), since journald adds them.
void set_level(Level level);
Level level();
bool parse_level(std::string_view text, Level& out);
void set_timestamps(bool on);

bool enabled(Level level);
// Control characters (below 0x20, and 0x7F) are written as \xNN.
void write(Level level, std::string_view category, std::string_view message);

// `text` with control characters replaced by \xNN.
std::string escape_control(std::string_view text);

} // namespace core::log

#define CF_LOG(lvl, category, expr)                                                                \
  do {                                                                                             \
    if (::core::log::enabled(::core::log::Level::lvl)) {                                           \
      std::ostringstream cf_log_stream_;                                                           \
      cf_log_stream_ << expr;                                                                      \
      ::core::log::write(::core::log::Level::lvl, category, cf_log_stream_.str());                 \
    }                                                                                              \
  } while (false)
