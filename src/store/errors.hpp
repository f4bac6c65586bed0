// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <system_error>

namespace store {

enum class Errc {
  duplicate_rejected = 1, // SOP instance already stored and policy is reject
  disk_full,              // no space left while writing or moving the file
  io_failed,              // other file-system failure
  index_failed,           // the database refused or failed
  not_found,              // no such instance/series/study
  limit_reached,          // storage.max_size_mb / max_studies / min_free_mb would be passed
};

const std::error_category& error_category();
std::error_code make_error_code(Errc e);

} // namespace store

template <> struct std::is_error_code_enum<store::Errc> : std::true_type
{
};
