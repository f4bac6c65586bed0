// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <optional>
#include <string>
#include <string_view>

class DcmItem;

// Our own decoder for SpecificCharacterSet values with ISO 2022 code
// extensions (PS3.3 C.12.1.1.2, PS3.5 6.1.2.5). DCMTK hands these to iconv
// as a whole, and glibc's iconv has no mapping for ISO 2022 IR 87 / IR 159,
// so Japanese names would stay escape sequences. Here each segment between
// escape sequences is converted on its own with a glibc table that does
// exist (EUC-JP, EUC-KR, GB2312, ISO-8859-n, TIS-620).
namespace dicom {

// How the code state resets inside a value (PS3.5 6.1.2.5.3).
enum class TextKind {
  multi_valued, // SH, LO, UC: reset at '\'
  person_name,  // PN: reset at '\', '^' and '='
  text,         // ST, LT, UT: reset at CR, LF, FF and TAB only
};

// True when `specific_character_set` (0008,0005) uses code extensions: any
// "ISO 2022 ..." term, or more than one value.
bool uses_code_extensions(std::string_view specific_character_set);

// Decode one element value (all its values, delimiters included) to UTF-8.
// Fails (nullopt) on an unknown term or escape sequence, or bytes that are
// invalid in the active character set; the caller then falls back.
std::optional<std::string> iso2022_to_utf8(std::string_view value,
                                           std::string_view specific_character_set, TextKind kind);

// True when (0008,0005) of `item` or of any nested sequence item uses code
// extensions.
bool any_code_extensions(DcmItem& item);

// Convert every text element of `item` (recursively; a sequence item's own
// (0008,0005) applies to it and below, PS3.5 6.1.2.3) to UTF-8 and set
// every SpecificCharacterSet to ISO_IR 192. `item` is left unchanged when
// anything cannot be decoded (false).
bool decode_item_iso2022(DcmItem& item, std::string_view specific_character_set);

} // namespace dicom
