// SPDX-License-Identifier: GPL-3.0-or-later
// media's own error codes; files that cannot be read carry the errno.
#pragma once

#include <system_error>

namespace media {

enum class Errc {
  not_a_capture = 1, // the file is not a HAR capture (no log.entries)
};

const std::error_category& error_category();
std::error_code make_error_code(Errc e);

} // namespace media

template <> struct std::is_error_code_enum<media::Errc> : std::true_type
{
};
