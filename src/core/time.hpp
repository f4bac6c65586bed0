// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <string>

namespace core {

// The current time in UTC as ISO 8601, "2026-11-22T05:15:21Z".
std::string utc_timestamp();

// Seconds since the Unix epoch, with fractions.
double unix_seconds();

} // namespace core
