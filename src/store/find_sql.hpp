// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "find.hpp"

#include <string>
#include <vector>

// Translation of C-FIND and retrieve identifiers into one SQL statement over
// the index schema (see sqlite_index.cpp). Pure: no database access, so the
// matching rules can be unit-tested as SQL and run against any SQL index.
namespace store::sql {

struct Statement
{
  std::string text;
  std::vector<std::string> params;    // bound in order as text
  std::vector<std::uint32_t> columns; // tag returned by each result column
  std::string count_text;             // with paging: the COUNT(*) of all matches, same params
};

// Build the SELECT for a C-FIND (PS3.4 C.2.2.2 matching, C.4.1.2.1-2 unique
// key checks). Unsupported keys are listed in `unsupported`; `relaxed` tells
// that a unique key above the level was absent. Errors: FindErrc.
core::Result<Statement> build_find(const FindRequest& request,
                                   std::vector<std::uint32_t>& unsupported, bool& relaxed);

// Build the SELECT of the instances a C-MOVE/C-GET identifier designates
// (PS3.4 C.4.2.2.1: unique keys; UID lists allowed at the retrieve level).
// Columns: sop_class_uid, sop_uid, transfer_syntax, path.
core::Result<Statement> build_retrieve(const FindRequest& request);

} // namespace store::sql
