// SPDX-License-Identifier: GPL-3.0-or-later
#include "iso2022.hpp"

#include <core/strings.hpp>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcbytstr.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcitem.h>
#include <dcmtk/dcmdata/dcsequen.h>
#include <dcmtk/dcmdata/dcstack.h>
#include <iconv.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <vector>

namespace dicom {

namespace {

// A graphic character set as it can be designated to G0 or G1.
enum class Set {
  none,
  ascii,    // ISO IR 6, and ISO IR 14 (JIS X 0201 romaji) read as ASCII, as pydicom does
  single,   // a 96-character set in GR, converted with `codec` (ISO-8859-n, TIS-620)
  katakana, // ISO IR 13, JIS X 0201 katakana in GR
  jis0208,  // ISO IR 87, two GL bytes
  jis0212,  // ISO IR 159, two GL bytes
  ksx1001,  // ISO IR 149, two GR bytes
  gb2312,   // ISO IR 58, two GR bytes
};

struct Designation
{
  Set set = Set::none;
  const char* codec = nullptr;
  bool g0 = false; // designated to G0 (else G1)
};

struct TermInfo
{
  const char* ir; // "100" for "ISO 2022 IR 100" / "ISO_IR 100"
  const char* escape;
  Designation d;
};

// PS3.3 Tables C.12-3 and C.12-4: the defined terms, their escape sequences
// (the bytes after ESC) and what they designate.
const TermInfo k_terms[] = {
    {"6", "(B", {Set::ascii, nullptr, true}},
    {"100", "-A", {Set::single, "ISO-8859-1", false}},
    {"101", "-B", {Set::single, "ISO-8859-2", false}},
    {"109", "-C", {Set::single, "ISO-8859-3", false}},
    {"110", "-D", {Set::single, "ISO-8859-4", false}},
    {"144", "-L", {Set::single, "ISO-8859-5", false}},
    {"127", "-G", {Set::single, "ISO-8859-6", false}},
    {"126", "-F", {Set::single, "ISO-8859-7", false}},
    {"138", "-H", {Set::single, "ISO-8859-8", false}},
    {"148", "-M", {Set::single, "ISO-8859-9", false}},
    {"203", "-b", {Set::single, "ISO-8859-15", false}},
    {"166", "-T", {Set::single, "TIS-620", false}},
    {"13", ")I", {Set::katakana, nullptr, false}},
    {"14", "(J", {Set::ascii, nullptr, true}}, // the G0 half of ISO 2022 IR 13
    {"87", "$B", {Set::jis0208, "EUC-JP", true}},
    {"159", "$(D", {Set::jis0212, "EUC-JP", true}},
    {"149", "$)C", {Set::ksx1001, "EUC-KR", false}},
    {"58", "$)A", {Set::gb2312, "GB2312", false}},
};

const TermInfo*
find_ir(std::string_view ir)
{
  for (const auto& t : k_terms) {
    if (ir == t.ir) {
      return &t;
    }
  }
  return nullptr;
}

std::vector<std::string>
terms_of(std::string_view specific_character_set)
{
  auto terms = core::split(core::trim(specific_character_set), '\\');
  for (auto& t : terms) {
    t = core::to_upper_ascii(core::trim(t));
  }
  return terms;
}

// "ISO 2022 IR 100" or "ISO_IR 100" -> its entry; "" means the default
// repertoire (PS3.3 C.12.1.1.2: value 1 may be empty).
bool
lookup_term(const std::string& term, const TermInfo*& out)
{
  out = nullptr;
  if (term.empty()) {
    return true;
  }
  for (const char* prefix : {"ISO 2022 IR ", "ISO_IR "}) {
    const std::size_t n = std::strlen(prefix);
    if (term.compare(0, n, prefix) == 0) {
      out = find_ir(std::string_view(term).substr(n));
      return out != nullptr;
    }
  }
  return false;
}

// glibc iconv descriptors, opened once per thread and codec.
class Iconv
{
public:
  ~Iconv()
  {
    for (auto& [name, cd] : m_open) {
      iconv_close(cd);
    }
  }

  bool convert(const char* codec, const std::string& in, std::string& out)
  {
    auto it = m_open.find(codec);
    if (it == m_open.end()) {
      iconv_t cd = iconv_open("UTF-8", codec);
      if (cd == reinterpret_cast<iconv_t>(-1)) {
        return false;
      }
      it = m_open.emplace(codec, cd).first;
    }
    iconv_t cd = it->second;
    iconv(cd, nullptr, nullptr, nullptr, nullptr); // reset the shift state
    std::vector<char> src(in.begin(), in.end());
    char* in_ptr = src.data();
    std::size_t in_left = src.size();
    char buffer[256];
    while (in_left > 0) {
      char* out_ptr = buffer;
      std::size_t out_left = sizeof buffer;
      const auto rc = iconv(cd, &in_ptr, &in_left, &out_ptr, &out_left);
      out.append(buffer, sizeof buffer - out_left);
      if (rc == static_cast<std::size_t>(-1) && errno != E2BIG) {
        return false; // EILSEQ or EINVAL (truncated multi-byte character)
      }
    }
    return true;
  }

private:
  std::map<std::string, iconv_t> m_open;
};

bool
iconv_to_utf8(const char* codec, const std::string& in, std::string& out)
{
  thread_local Iconv conv;
  return conv.convert(codec, in, out);
}

bool
is_delimiter(unsigned char c, TextKind kind)
{
  if (c == '\r' || c == '\n' || c == '\f' || c == '\t') {
    return true;
  }
  if (kind == TextKind::text) {
    return false;
  }
  return c == '\\' || (kind == TextKind::person_name && (c == '^' || c == '='));
}

// Bytes collected for one iconv codec; flushed when the codec changes.
class Segment
{
public:
  explicit Segment(std::string& out) : m_out(out) {}

  bool use(const char* codec)
  {
    if (m_codec != nullptr && codec != nullptr && std::strcmp(m_codec, codec) == 0) {
      return true;
    }
    if (!flush()) {
      return false;
    }
    m_codec = codec;
    return true;
  }

  // ASCII is the same in every codec used here, so it joins any segment.
  void add(char c)
  {
    if (m_codec == nullptr) {
      m_out += c;
    } else {
      m_bytes += c;
    }
  }

  bool flush()
  {
    bool ok = true;
    if (!m_bytes.empty()) {
      ok = iconv_to_utf8(m_codec, m_bytes, m_out);
      m_bytes.clear();
    }
    m_codec = nullptr;
    return ok;
  }

private:
  std::string& m_out;
  std::string m_bytes;
  const char* m_codec = nullptr;
};

void
append_katakana(unsigned char c, std::string& out)
{
  // JIS X 0201 0xA1..0xDF is U+FF61..U+FF9F, halfwidth katakana.
  const unsigned cp = 0xFF61U + (c - 0xA1U);
  out += static_cast<char>(0xE0U | (cp >> 12));
  out += static_cast<char>(0x80U | ((cp >> 6) & 0x3FU));
  out += static_cast<char>(0x80U | (cp & 0x3FU));
}

bool
is_gl94(unsigned char c)
{
  return c >= 0x21 && c <= 0x7E;
}

} // namespace

bool
uses_code_extensions(std::string_view specific_character_set)
{
  const auto terms = terms_of(specific_character_set);
  if (terms.size() > 1) {
    return true;
  }
  return !terms.empty() && terms[0].compare(0, 9, "ISO 2022 ") == 0;
}

std::optional<std::string>
iso2022_to_utf8(std::string_view value, std::string_view specific_character_set, TextKind kind)
{
  // PS3.5 6.1.2.5.2: value 1 names the character set active at the start of
  // the value and after each reset; G0 starts as ASCII.
  const auto terms = terms_of(specific_character_set);
  Designation initial_g1;
  for (std::size_t i = 0; i < terms.size(); ++i) {
    const TermInfo* info = nullptr;
    if (!lookup_term(terms[i], info)) {
      return std::nullopt;
    }
    if (i == 0 && info != nullptr && !info->d.g0) {
      initial_g1 = info->d;
    }
  }
  Designation g0{Set::ascii, nullptr, true};
  Designation g1 = initial_g1;

  std::string out;
  Segment segment(out);
  const auto* p = reinterpret_cast<const unsigned char*>(value.data());
  const std::size_t n = value.size();
  std::size_t i = 0;
  while (i < n) {
    const unsigned char c = p[i];
    if (c == 0x1B) {
      // Escape sequences of any defined term are honoured, also ones the
      // value does not declare: the bytes cannot mean anything else.
      const TermInfo* found = nullptr;
      for (const auto& t : k_terms) {
        const std::size_t len = std::strlen(t.escape);
        if (n - i - 1 >= len && std::memcmp(p + i + 1, t.escape, len) == 0) {
          found = &t;
          break;
        }
      }
      if (found == nullptr) {
        return std::nullopt;
      }
      (found->d.g0 ? g0 : g1) = found->d;
      i += 1 + std::strlen(found->escape);
      continue;
    }
    if (c < 0x80) {
      if ((g0.set == Set::jis0208 || g0.set == Set::jis0212) && is_gl94(c)) {
        if (i + 1 >= n || !is_gl94(p[i + 1]) || !segment.use("EUC-JP")) {
          return std::nullopt;
        }
        std::string bytes;
        if (g0.set == Set::jis0212) {
          bytes += '\x8F'; // EUC-JP reaches JIS X 0212 through SS3
        }
        bytes += static_cast<char>(c | 0x80);
        bytes += static_cast<char>(p[i + 1] | 0x80);
        for (const char b : bytes) {
          segment.add(b);
        }
        i += 2;
        continue;
      }
      if (is_delimiter(c, kind)) {
        // PS3.5 6.1.2.5.3: delimiters return to the initial code state.
        g0 = Designation{Set::ascii, nullptr, true};
        g1 = initial_g1;
      }
      segment.add(static_cast<char>(c));
      ++i;
      continue;
    }
    switch (g1.set) {
    case Set::single:
      if (!segment.use(g1.codec)) {
        return std::nullopt;
      }
      segment.add(static_cast<char>(c));
      ++i;
      break;
    case Set::ksx1001:
    case Set::gb2312:
      if (i + 1 >= n || p[i + 1] < 0xA1 || !segment.use(g1.codec)) {
        return std::nullopt;
      }
      segment.add(static_cast<char>(c));
      segment.add(static_cast<char>(p[i + 1]));
      i += 2;
      break;
    case Set::katakana:
      if (c < 0xA1 || c > 0xDF || !segment.flush()) {
        return std::nullopt;
      }
      append_katakana(c, out);
      ++i;
      break;
    default:
      // No G1 set active (value 1 is the default repertoire): not ours to
      // guess; the caller's fallback (e.g. GB18030) gets the value.
      return std::nullopt;
    }
  }
  if (!segment.flush()) {
    return std::nullopt;
  }
  return out;
}

namespace {

std::optional<TextKind>
kind_of(DcmEVR vr)
{
  switch (vr) {
  case EVR_SH:
  case EVR_LO:
  case EVR_UC:
    return TextKind::multi_valued;
  case EVR_PN:
    return TextKind::person_name;
  case EVR_ST:
  case EVR_LT:
  case EVR_UT:
    return TextKind::text;
  default:
    return std::nullopt;
  }
}

bool
needs_decoding(std::string_view v)
{
  for (const unsigned char c : v) {
    if (c >= 0x80 || c == 0x1B) {
      return true;
    }
  }
  return false;
}

// One value in the item's character set, which may also be one without
// code extensions when a sequence item declares its own.
std::optional<std::string>
decode_value(std::string_view v, const std::string& charset, TextKind kind)
{
  const auto terms = terms_of(charset);
  if (terms.size() == 1 && terms[0] == "ISO_IR 192") {
    if (v.find('\x1B') != std::string_view::npos || !core::is_valid_utf8(v)) {
      return std::nullopt;
    }
    return std::string(v);
  }
  if (terms.size() == 1 && (terms[0] == "GB18030" || terms[0] == "GBK")) {
    std::string out;
    if (!iconv_to_utf8(terms[0].c_str(), std::string(v), out)) {
      return std::nullopt;
    }
    return out;
  }
  return iso2022_to_utf8(v, charset, kind);
}

bool
decode_recursive(DcmItem& item, std::string charset, bool top)
{
  const bool own = item.tagExists(DCM_SpecificCharacterSet);
  if (own) {
    OFString value;
    item.findAndGetOFStringArray(DCM_SpecificCharacterSet, value);
    charset = value.c_str();
  }
  for (unsigned long i = 0; i < item.card(); ++i) {
    DcmElement* element = item.getElement(i);
    if (element == nullptr) {
      continue;
    }
    if (element->ident() == EVR_SQ) {
      auto* sequence = OFstatic_cast(DcmSequenceOfItems*, element);
      for (unsigned long j = 0; j < sequence->card(); ++j) {
        DcmItem* sub = sequence->getItem(j);
        if (sub != nullptr && !decode_recursive(*sub, charset, false)) {
          return false;
        }
      }
      continue;
    }
    const auto kind = kind_of(element->ident());
    if (!kind) {
      continue;
    }
    auto* text = OFstatic_cast(DcmByteString*, element);
    char* raw = nullptr;
    Uint32 length = 0;
    if (text->getString(raw, length).bad() || raw == nullptr) {
      continue;
    }
    const std::string_view v(raw, length);
    if (!needs_decoding(v)) {
      continue;
    }
    const auto utf8 = decode_value(v, charset, *kind);
    if (!utf8) {
      return false;
    }
    text->putString(utf8->c_str(), OFstatic_cast(Uint32, utf8->size()));
  }
  if (own || top) {
    item.putAndInsertString(DCM_SpecificCharacterSet, "ISO_IR 192");
  }
  return true;
}

} // namespace

bool
any_code_extensions(DcmItem& item)
{
  DcmStack stack;
  while (item.nextObject(stack, OFTrue).good()) {
    DcmObject* obj = stack.top();
    // A (0008,0005) written with another VR (OB in explicit VR) is no
    // string: never cast it as one (found by fuzz_instance_info).
    auto* text = obj != nullptr && obj->getTag() == DCM_SpecificCharacterSet
                     ? dynamic_cast<DcmByteString*>(obj)
                     : nullptr;
    if (text != nullptr) {
      char* raw = nullptr;
      Uint32 length = 0;
      if (text->getString(raw, length).good() && raw != nullptr
          && uses_code_extensions(std::string_view(raw, length))) {
        return true;
      }
    }
  }
  return false;
}

bool
decode_item_iso2022(DcmItem& item, std::string_view specific_character_set)
{
  // Work on a copy so a failure never leaves `item` half-converted.
  DcmItem copy(item);
  // The copy's own (0008,0005) may be the raw one; the caller's
  // (normalised) value wins at the top level.
  copy.findAndDeleteElement(DCM_SpecificCharacterSet);
  if (!decode_recursive(copy, std::string(specific_character_set), true)) {
    return false;
  }
  item = copy;
  return true;
}

} // namespace dicom
