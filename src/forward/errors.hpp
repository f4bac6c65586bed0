// SPDX-License-Identifier: GPL-3.0-or-later
// forward's own error codes (the queue); a failed send carries net's.
#pragma once

#include <system_error>

namespace forward {

enum class Errc {
  queue_failed = 1, // the queue database refused or failed
};

const std::error_category& error_category();
std::error_code make_error_code(Errc e);

} // namespace forward

template <> struct std::is_error_code_enum<forward::Errc> : std::true_type
{
};
