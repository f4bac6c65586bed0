// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <core/result.hpp>
#include <store/find.hpp>

#include <memory>
#include <string>

class DcmDataset;

namespace net::internal {

// Read a C-FIND/C-MOVE/C-GET identifier (PS3.4 C.4.1.1.3, C.4.2.1.4): decode
// its text to UTF-8 per its own SpecificCharacterSet (undeclared non-UTF-8 in
// `fallback_charset`), read QueryRetrieveLevel, and turn every other key
// into a store::FindKey. Group 0000/0002 and group-length elements some
// devices send are ignored. Errors: store::FindErrc (missing_level,
// bad_level, bad_charset).
core::Result<store::FindRequest> parse_identifier(DcmDataset& identifier, store::Model model,
                                                  const std::string& fallback_charset);

// The response identifier for one match: exactly the keys of the request,
// in its order, with the matched values (zero length where the index has
// none), plus SpecificCharacterSet. RetrieveAETitle is `retrieve_ae`;
// InstanceAvailability is ONLINE.
std::unique_ptr<DcmDataset> build_response(DcmDataset& request, const store::FindMatch& match,
                                           const std::string& retrieve_ae);

// Re-encode a UTF-8 response in `charset` (e.g. GB18030) for peers that need
// it. Leaves it in UTF-8 and returns false if a value cannot be encoded.
bool encode_response(DcmDataset& response, const std::string& charset);

} // namespace net::internal
