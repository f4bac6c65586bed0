// SPDX-License-Identifier: GPL-3.0-or-later
// What a C-STORE response status means to the one who sent the instance:
// shared by C-GET/C-MOVE sub-operations (net) and forwarding (forward).
#pragma once

#include <cstdint>

namespace net {

enum class StoreOutcome {
  success,   // 0000
  warning,   // stored, with a warning: B000 coercion, B006 elements discarded, B007 mismatch
  resources, // A7xx Refused: Out of Resources; may pass later
  failure,   // anything else (A9xx, Cxxx, 0110, 0122, 0124 ...)
};

// PS3.4 B.2.3 (Storage Service Class statuses).
constexpr StoreOutcome
store_outcome(std::uint16_t status)
{
  if (status == 0x0000) {
    return StoreOutcome::success;
  }
  if (status == 0xB000 || status == 0xB006 || status == 0xB007) {
    return StoreOutcome::warning;
  }
  if ((status & 0xFF00) == 0xA700) {
    return StoreOutcome::resources;
  }
  return StoreOutcome::failure;
}

} // namespace net
