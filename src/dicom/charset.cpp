// SPDX-License-Identifier: GPL-3.0-or-later
#include "charset.hpp"

#include "iso2022.hpp"

#include <core/strings.hpp>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcbytstr.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcitem.h>
#include <dcmtk/dcmdata/dcstack.h>

#include <vector>

namespace dicom {

namespace {

// PS3.5 6.1.2.3: the VRs whose values are affected by SpecificCharacterSet.
bool
is_affected_vr(DcmEVR vr)
{
  switch (vr) {
  case EVR_SH:
  case EVR_LO:
  case EVR_ST:
  case EVR_LT:
  case EVR_UT:
  case EVR_PN:
  case EVR_UC:
    return true;
  default:
    return false;
  }
}

struct TextScan
{
  bool any_non_ascii = false;
  bool all_utf8 = true;
};

template <typename F>
void
for_each_text(DcmItem& item, F&& f)
{
  DcmStack stack;
  while (item.nextObject(stack, OFTrue).good()) {
    DcmObject* obj = stack.top();
    if (obj == nullptr || !is_affected_vr(obj->ident())) {
      continue;
    }
    auto* text = OFstatic_cast(DcmByteString*, obj);
    char* value = nullptr;
    Uint32 length = 0;
    if (text->getString(value, length).good() && value != nullptr) {
      f(*text, std::string_view(value, length));
    }
  }
}

TextScan
scan(DcmItem& item)
{
  TextScan result;
  for_each_text(item, [&](DcmByteString&, std::string_view v) {
    bool non_ascii = false;
    for (const unsigned char c : v) {
      if (c >= 0x80 || c == 0x1B) { // 0x1B: ISO 2022 escape
        non_ascii = true;
        break;
      }
    }
    if (non_ascii) {
      result.any_non_ascii = true;
      // ISO 2022 escapes are valid UTF-8 bytes but not UTF-8 text.
      if (v.find('\x1B') != std::string_view::npos || !core::is_valid_utf8(v)) {
        result.all_utf8 = false;
      }
    }
  });
  return result;
}

// Convert a copy, so a failure (DCMTK aborts on the first illegal sequence)
// never leaves `item` half-converted.
bool
try_convert(DcmItem& item, const std::string& charset)
{
  DcmItem copy(item);
  // A plain DcmItem ignores its own (0008,0005), so name the source
  // charset explicitly; the last argument updates (0008,0005) to UTF-8.
  if (copy.convertCharacterSet(charset.c_str(), "ISO_IR 192", 0, OFTrue).bad()) {
    return false;
  }
  item = copy;
  return true;
}

bool
is_chinese_alias(const std::string& term)
{
  static const char* const k_aliases[] = {
      "GB2312",   "GBK",      "CHINESE", "ISO_IR 58", "ISO IR 58",
      "GB 18030", "GB-18030", "EUC-CN",  "CP936",
  };
  for (const auto* alias : k_aliases) {
    if (term == alias) {
      return true;
    }
  }
  return false;
}

} // namespace

std::string
normalise_charset(std::string_view raw, bool& changed)
{
  changed = false;
  const auto trimmed = std::string(core::trim(raw));
  auto terms = core::split(trimmed, '\\');
  bool chinese = false;
  bool gb18030 = false;
  for (auto& t : terms) {
    t = core::to_upper_ascii(core::trim(t));
    if (is_chinese_alias(t)) {
      chinese = true;
    }
    if (t == "GB18030" || t == "GBK") {
      gb18030 = true;
    }
  }
  // PS3.3 C.12.1.1.2: GB18030 and GBK cannot be combined with code extensions.
  if (chinese || (gb18030 && terms.size() > 1)) {
    changed = true;
    return "GB18030";
  }
  return trimmed;
}

std::string
decode_to_utf8(DcmItem& item, const std::string& fallback)
{
  OFString declared_raw;
  item.findAndGetOFStringArray(DCM_SpecificCharacterSet, declared_raw);
  const auto text = scan(item);
  if (!text.any_non_ascii) {
    // Pure ASCII is valid in every charset: declare UTF-8 and be done.
    item.putAndInsertString(DCM_SpecificCharacterSet, "ISO_IR 192");
    return {};
  }
  bool changed = false;
  const auto declared = normalise_charset(declared_raw.c_str(), changed);
  std::string note;
  if (changed) {
    note = "SpecificCharacterSet '" + std::string(declared_raw.c_str()) + "' read as " + declared;
  }
  // PS3.5 6.1.2.5: code extensions are decoded here, DCMTK's iconv mapping
  // lacks ISO 2022 IR 87 and IR 159. A sequence item may declare its own.
  if ((uses_code_extensions(declared) || any_code_extensions(item))
      && decode_item_iso2022(item, declared)) {
    return note;
  }
  if (!declared.empty() && declared != "ISO_IR 6") {
    if (declared == "ISO_IR 192") {
      if (text.all_utf8) {
        return note;
      }
      note = "declared ISO_IR 192 but not UTF-8";
    } else if (try_convert(item, declared)) {
      return note;
    }
  }
  // Undeclared (or unusable) but already UTF-8: keep the bytes.
  if (text.all_utf8) {
    item.putAndInsertString(DCM_SpecificCharacterSet, "ISO_IR 192");
    return declared.empty() ? std::string()
                            : "text is UTF-8 despite SpecificCharacterSet '" + declared + "'";
  }
  if (!fallback.empty() && try_convert(item, fallback)) {
    return "SpecificCharacterSet '" + declared + "' unusable; decoded as " + fallback;
  }
  for_each_text(item, [](DcmByteString& element, std::string_view v) {
    if (!core::is_valid_utf8(v)) {
      const auto clean = core::sanitize_utf8(v);
      element.putString(clean.c_str(), OFstatic_cast(Uint32, clean.size()));
    }
  });
  item.putAndInsertString(DCM_SpecificCharacterSet, "ISO_IR 192");
  return "text could not be decoded; invalid bytes replaced";
}

bool
decode_query_to_utf8(DcmItem& item, const std::string& fallback)
{
  OFString declared_raw;
  item.findAndGetOFStringArray(DCM_SpecificCharacterSet, declared_raw);
  const auto text = scan(item);
  if (!text.any_non_ascii) {
    item.putAndInsertString(DCM_SpecificCharacterSet, "ISO_IR 192");
    return true;
  }
  bool changed = false;
  const auto declared = normalise_charset(declared_raw.c_str(), changed);
  // Same ISO 2022 decoding as for stored instances, so a query in
  // ISO 2022 IR 87 matches what the index holds.
  if (uses_code_extensions(declared) && decode_item_iso2022(item, declared)) {
    return true;
  }
  if (declared.empty() || declared == "ISO_IR 6") {
    if (text.all_utf8) {
      item.putAndInsertString(DCM_SpecificCharacterSet, "ISO_IR 192");
      return true;
    }
    return !fallback.empty() && try_convert(item, fallback);
  }
  if (declared == "ISO_IR 192") {
    return text.all_utf8;
  }
  return try_convert(item, declared);
}

} // namespace dicom
