// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <core/result.hpp>
#include <store/find.hpp>

#include <cstdint>
#include <string>

namespace net::internal {

struct DimseStatus
{
  std::uint16_t code = 0;
  std::string comment; // Error Comment (0000,0902), at most 64 characters
};

// The C-STORE response status for a failed ingest (PS3.4 B.2.3):
// A7xx Refused: Out of Resources (disk full, local storage or index failure),
// A900 Error: Data Set does not match SOP Class (missing or disagreeing UIDs),
// C000 Error: Cannot understand (not DICOM, does not parse),
// 0111 Duplicate SOP Instance (PS3.7 C.4.2) when duplicates are rejected.
DimseStatus store_failure_status(const core::Error& error);

// The C-FIND/C-MOVE/C-GET failure status for an identifier or index error
// (PS3.4 C.4.1.1.4, C.4.2.1.5, C.4.3.1.4): A900 identifier does not match
// SOP class (level, unique keys), C000 unable to process (values, charset),
// A700 out of resources (index failure).
DimseStatus find_failure_status(const core::Error& error);

// "STUDY" for store::Level::study, etc.
const char* identifier_level_name(store::Level level);

} // namespace net::internal
