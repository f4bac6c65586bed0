// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <string>
#include <string_view>

class DcmItem;

// Text decoding for datasets whose SpecificCharacterSet (0008,0005) is
// missing, non-standard or wrong, as cloud-film exports often are.
namespace dicom {

// Map a SpecificCharacterSet value to one DCMTK accepts. Non-standard
// Chinese terms (GB2312, GBK, CHINESE, ISO_IR 58, "GB18030\ISO_IR 192") become
// "GB18030", a superset of all of them. Standard values are returned as is
// (trimmed). Sets `changed` when the value was rewritten.
std::string normalise_charset(std::string_view raw, bool& changed);

// Convert every text element of `item` (recursively) to UTF-8 and set
// SpecificCharacterSet to ISO_IR 192. Tries, in order: the declared charset
// (normalised), plain UTF-8 if the bytes already are, then `fallback`.
// Returns a note describing any fallback taken ("" if none); if nothing
// works, invalid bytes are replaced by U+FFFD and the note says so.
// GB18030 trail bytes can be 0x5C ('\'): values are only split after this.
// ISO 2022 code extensions (here or in a sequence item) are decoded by
// iso2022.hpp, not DCMTK, whose glibc iconv lacks IR 87 and IR 159.
std::string decode_to_utf8(DcmItem& item, const std::string& fallback);

// For a C-FIND identifier: convert its text to UTF-8 like decode_to_utf8,
// but fail (false) when the declared SpecificCharacterSet cannot be decoded
// at all, so the SCP can answer with an error instead of guessing. An
// undeclared non-UTF-8 query is read in `fallback` (Chinese viewers send
// GBK without declaring it).
bool decode_query_to_utf8(DcmItem& item, const std::string& fallback);

} // namespace dicom
