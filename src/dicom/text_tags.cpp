// SPDX-License-Identifier: GPL-3.0-or-later
#include "text_tags.hpp"

#include <core/strings.hpp>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcdicent.h>
#include <dcmtk/dcmdata/dcdict.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcmetinf.h>
#include <dcmtk/dcmdata/dcvrsv.h>
#include <dcmtk/dcmdata/dcvruv.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <system_error>

namespace dicom {

namespace {

std::string
tag_name(std::uint16_t group, std::uint16_t element)
{
  char buf[16];
  std::snprintf(buf, sizeof buf, "(%04x,%04x)", group, element);
  return buf;
}

// --- attribute values -------------------------------------------------------

// Characters (code points) of UTF-8 text: LO counts characters, not bytes
// (PS3.5 6.2).
std::size_t
characters(std::string_view text)
{
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

// LO (PS3.5 6.2): at most 64 characters per value and no control
// characters but ESC. Otherwise the value needs UT.
bool
fits_lo(std::string_view text)
{
  for (const auto& value : core::split(text, '\\')) {
    if (characters(value) > 64) {
      return false;
    }
    for (char c : value) {
      const auto u = static_cast<unsigned char>(c);
      if (u < 0x20 && u != 0x1B) {
        return false;
      }
    }
  }
  return true;
}

template <typename T>
bool
parse_integer(std::string_view text, T& out)
{
  text = core::trim(text);
  if (!text.empty() && text.front() == '+') {
    text.remove_prefix(1);
  }
  if (text.empty()) {
    return false;
  }
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

template <typename T>
bool
parse_float(std::string_view text, T& out)
{
  text = core::trim(text);
  if (!text.empty() && text.front() == '+') {
    text.remove_prefix(1);
  }
  if (text.empty()) {
    return false;
  }
  // from_chars, unlike strtod, ignores the locale.
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

// Parse every '\'-separated value of `text` as T; false if one does not parse
// or is out of T's range.
template <typename T>
bool
parse_all(std::string_view text, std::vector<T>& out)
{
  out.clear();
  for (const auto& part : core::split(text, '\\')) {
    T v{};
    bool ok = false;
    if constexpr (std::is_floating_point_v<T>) {
      ok = parse_float(part, v);
    } else {
      ok = parse_integer(part, v);
    }
    if (!ok) {
      return false;
    }
    out.push_back(v);
  }
  return true;
}

// Put the numbers in `text` into `element` (of binary numeric VR `vr`).
// False if a value does not parse or does not fit the VR.
bool
put_numbers(DcmElement& element, DcmEVR vr, std::string_view text)
{
  if (core::trim(text).empty()) {
    return true; // zero-length value (type 2 "known, but empty")
  }
  const auto n = [](const auto& v) { return static_cast<unsigned long>(v.size()); };
  switch (vr) {
  case EVR_US: {
    std::vector<Uint16> v;
    return parse_all(text, v) && element.putUint16Array(v.data(), n(v)).good();
  }
  case EVR_SS: {
    std::vector<Sint16> v;
    return parse_all(text, v) && element.putSint16Array(v.data(), n(v)).good();
  }
  case EVR_UL: {
    std::vector<Uint32> v;
    return parse_all(text, v) && element.putUint32Array(v.data(), n(v)).good();
  }
  case EVR_SL: {
    std::vector<Sint32> v;
    return parse_all(text, v) && element.putSint32Array(v.data(), n(v)).good();
  }
  case EVR_SV: {
    std::vector<Sint64> v;
    return parse_all(text, v)
           && static_cast<DcmSigned64bitVeryLong&>(element).putSint64Array(v.data(), n(v)).good();
  }
  case EVR_UV: {
    std::vector<Uint64> v;
    return parse_all(text, v)
           && static_cast<DcmUnsigned64bitVeryLong&>(element).putUint64Array(v.data(), n(v)).good();
  }
  case EVR_FL: {
    std::vector<Float32> v;
    return parse_all(text, v) && element.putFloat32Array(v.data(), n(v)).good();
  }
  case EVR_FD: {
    std::vector<Float64> v;
    return parse_all(text, v) && element.putFloat64Array(v.data(), n(v)).good();
  }
  default:
    return false;
  }
}

bool
is_text_vr(DcmEVR vr)
{
  switch (vr) {
  case EVR_AE:
  case EVR_AS:
  case EVR_CS:
  case EVR_DA:
  case EVR_DS:
  case EVR_DT:
  case EVR_IS:
  case EVR_LO:
  case EVR_LT:
  case EVR_PN:
  case EVR_SH:
  case EVR_ST:
  case EVR_TM:
  case EVR_UC:
  case EVR_UI:
  case EVR_UR:
  case EVR_UT:
    return true;
  default:
    return false;
  }
}

bool
is_number_vr(DcmEVR vr)
{
  switch (vr) {
  case EVR_US:
  case EVR_SS:
  case EVR_UL:
  case EVR_SL:
  case EVR_SV:
  case EVR_UV:
  case EVR_FL:
  case EVR_FD:
    return true;
  default:
    return false;
  }
}

// The VR a "US or SS" attribute takes: it follows PixelRepresentation (PS3.5
// 6.2 note; PS3.3 C.7.6.3.1). Without one, a negative value decides.
DcmEVR
resolve_us_ss(std::string_view value, std::optional<long> pixel_representation)
{
  if (pixel_representation) {
    return *pixel_representation == 1 ? EVR_SS : EVR_US;
  }
  return value.find('-') != std::string_view::npos ? EVR_SS : EVR_US;
}

// What the standard dictionary says about (group,element): its VR (EVR_UNKNOWN
// if the tag is unknown), repeating groups (50xx, 60xx) included.
DcmEVR
dictionary_vr(std::uint16_t group, std::uint16_t element)
{
  const DcmDataDictionary& dict = dcmDataDict.rdlock();
  const DcmDictEntry* entry = dict.findEntry(DcmTagKey(group, element), nullptr);
  const DcmEVR vr = entry != nullptr ? entry->getEVR() : EVR_UNKNOWN;
  dcmDataDict.rdunlock();
  return vr;
}

// The file meta elements the writer sets itself (PS3.10 7.1): whatever the
// platform sent for them is dropped.
bool
written_by_us(const DcmTagKey& key)
{
  return key == DCM_FileMetaInformationGroupLength || key == DCM_FileMetaInformationVersion
         || key == DCM_MediaStorageSOPClassUID || key == DCM_MediaStorageSOPInstanceUID
         || key == DCM_TransferSyntaxUID || key == DCM_ImplementationClassUID
         || key == DCM_ImplementationVersionName;
}

class Builder
{
public:
  Builder(DcmDataset& dataset, DcmMetaInfo& meta, std::vector<std::string>& skipped)
      : m_dataset(dataset), m_meta(meta), m_skipped(skipped)
  {
  }

  void set_pixel_representation(std::optional<long> value) { m_pixel_representation = value; }

  void add(const TextTag& tag)
  {
    const DcmTagKey key(tag.group, tag.element);
    // Platform values are Unicode text; keep them valid for ISO_IR 192.
    const std::string value =
        core::is_valid_utf8(tag.value) ? tag.value : core::sanitize_utf8(tag.value);

    if (tag.group == 0x0002) {
      if (!written_by_us(key)) {
        add_standard(m_meta, key, value);
      }
      return;
    }
    if (key == DCM_PixelData || key == DCM_SpecificCharacterSet) {
      return; // both are ours: the pixel body, and the UTF-8 we store
    }
    if (tag.group == 0x0000 || tag.group == 0x0004 || tag.group == 0xFFFE) {
      skip(tag, "command, directory or item tag, not part of an instance");
      return;
    }
    if (tag.element == 0x0000) {
      skip(tag, "group length (recomputed by the writer)");
      return;
    }
    if ((tag.group & 1U) != 0) {
      add_private(tag, value);
      return;
    }
    add_standard(m_dataset, key, value);
  }

private:
  void skip(const TextTag& tag, const std::string& reason)
  {
    m_skipped.push_back(tag_name(tag.group, tag.element) + ": " + reason);
  }

  // Private data elements and creators (PS3.5 7.8.1): groups 0001-0007 and
  // FFFF are not private groups, elements 0001-000F are reserved.
  void add_private(const TextTag& tag, const std::string& value)
  {
    if (tag.group <= 0x0007 || tag.group == 0xFFFF) {
      skip(tag, "odd group reserved by the standard");
      return;
    }
    if (tag.element < 0x0010) {
      skip(tag, "reserved private element number");
      return;
    }
    // The Private Creator is always LO (PS3.5 7.8.1). A data element's own
    // VR is unknown: LO keeps it readable; UT, never split on '\', keeps a
    // value LO cannot hold, verbatim.
    const bool creator = tag.element <= 0x00FF;
    put_text(m_dataset, DcmTag(tag.group, tag.element, creator || fits_lo(value) ? EVR_LO : EVR_UT),
             value, tag);
  }

  void add_standard(DcmItem& target, const DcmTagKey& key, const std::string& value)
  {
    const TextTag tag{key.getGroup(), key.getElement(), {}};
    DcmEVR vr = dictionary_vr(key.getGroup(), key.getElement());
    if (vr == EVR_UNKNOWN || vr == EVR_UNKNOWN2B) {
      // A public tag newer than DCMTK's dictionary: keep the text like a
      // private value rather than lose it.
      put_text(target, DcmTag(key, fits_lo(value) ? EVR_LO : EVR_UT), value, tag);
      return;
    }
    if (vr == EVR_xs) {
      vr = resolve_us_ss(value, m_pixel_representation);
    } else if (vr == EVR_up) {
      vr = EVR_UL; // a DICOMDIR offset, stored as UL
    }
    if (is_text_vr(vr)) {
      std::string text = value;
      if (vr == EVR_UI) {
        text = std::string(core::trim(text)); // no padding inside our UIDs
      }
      put_text(target, DcmTag(key, vr), text, tag);
      return;
    }
    if (is_number_vr(vr)) {
      DcmElement* element = nullptr;
      if (DcmItem::newDicomElementWithVR(element, DcmTag(key, vr)).bad() || element == nullptr) {
        skip(tag, std::string("cannot create a ") + DcmVR(vr).getVRName() + " element");
        return;
      }
      std::unique_ptr<DcmElement> owned(element);
      if (!put_numbers(*element, vr, value)) {
        skip(tag, std::string("value does not parse as ") + DcmVR(vr).getVRName());
        return;
      }
      insert(target, std::move(owned), tag);
      return;
    }
    if (vr == EVR_SQ) {
      skip(tag, "sequence (no items in the text rendering)");
    } else if (vr == EVR_AT) {
      skip(tag, "attribute tag (AT) value");
    } else {
      skip(tag, std::string("binary VR ") + DcmVR(vr).getVRName());
    }
  }

  void put_text(DcmItem& target, const DcmTag& dtag, const std::string& text, const TextTag& tag)
  {
    DcmElement* element = nullptr;
    if (DcmItem::newDicomElementWithVR(element, dtag).bad() || element == nullptr) {
      skip(tag, "cannot create the element");
      return;
    }
    std::unique_ptr<DcmElement> owned(element);
    // putString keeps the text as one byte string; '\' stays the value
    // delimiter of multi-valued VRs and is plain text in LT/ST/UT/UR.
    if (element->putString(text.c_str(), static_cast<Uint32>(text.size())).bad()) {
      skip(tag, "value rejected by DCMTK");
      return;
    }
    insert(target, std::move(owned), tag);
  }

  void insert(DcmItem& target, std::unique_ptr<DcmElement> element, const TextTag& tag)
  {
    if (target.insert(element.get(), OFTrue /*replace a repeated tag*/).bad()) {
      skip(tag, "cannot insert the element");
      return;
    }
    element.release(); // owned by `target` now
  }

  DcmDataset& m_dataset;
  DcmMetaInfo& m_meta;
  std::vector<std::string>& m_skipped;
  std::optional<long> m_pixel_representation;
};

} // namespace

void
put_text_tags(const std::vector<TextTag>& tags, DcmDataset& ds, DcmMetaInfo& meta,
              std::vector<std::string>& skipped)
{
  Builder builder(ds, meta, skipped);
  // US or SS (ambiguous in the dictionary) follows PixelRepresentation,
  // wherever it comes in the list.
  for (const auto& tag : tags) {
    if (tag.group == 0x0028 && tag.element == 0x0103) {
      long value = 0;
      if (parse_integer(tag.value, value)) {
        builder.set_pixel_representation(value);
      }
    }
  }
  for (const auto& tag : tags) {
    builder.add(tag);
  }
}

} // namespace dicom
