// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <core/result.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace dicomweb {

// The boundary parameter of a multipart Content-Type (RFC 2046 5.1.1), or "".
std::string boundary_of(const std::string& content_type);

// The bodies of a multipart/related message (PS3.18 8.6.1.2), as views into
// `body`. Errors: source::Errc::upstream_changed when it is not multipart.
core::Result<std::vector<std::string_view>> split_multipart(std::string_view body,
                                                            const std::string& boundary);

} // namespace dicomweb
