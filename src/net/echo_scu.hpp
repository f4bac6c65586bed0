// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "store_scu.hpp"

#include <core/result.hpp>

namespace net {

// C-ECHO (PS3.4 A.4) to `target`: associate, echo, release. Returns the
// round trip in milliseconds, or why it failed (connection, rejection,
// a non-success status).
core::Result<double> echo(const StoreTarget& target);

} // namespace net
