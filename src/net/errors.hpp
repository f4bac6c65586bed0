// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <system_error>

namespace net {

enum class Errc {
  association_failed = 1, // could not connect or the peer rejected the association
  exchange_failed,        // the association broke during a DIMSE exchange
  no_accepted_context,    // the peer accepts none of the SOP classes offered
};

const std::error_category& error_category();
std::error_code make_error_code(Errc e);

} // namespace net

template <> struct std::is_error_code_enum<net::Errc> : std::true_type
{
};
