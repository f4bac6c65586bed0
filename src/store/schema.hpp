// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstddef>

namespace store {

// CREATE ... IF NOT EXISTS statements of the index, run at every open.
extern const char* const k_index_schema;

struct ColumnAddition
{
  const char* table;
  const char* column;
  const char* definition;
};
extern const ColumnAddition k_added_columns[];
extern const std::size_t k_added_column_count;

} // namespace store
