// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "options.hpp"

#include <store/ingest.hpp>

#include <string>
#include <vector>

namespace forward {

// Names of the destinations whose rules match an instance just stored.
std::vector<std::string> matching_destinations(const std::vector<Rule>& rules,
                                               const store::Origin& origin,
                                               const std::string& modality);

const char* origin_kind_name(store::Origin::Kind kind);

} // namespace forward
