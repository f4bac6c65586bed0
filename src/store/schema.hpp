// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

namespace store {

// CREATE ... IF NOT EXISTS statements of the index, run at every open.
extern const char* const k_index_schema;

} // namespace store
