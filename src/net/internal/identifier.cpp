// SPDX-License-Identifier: GPL-3.0-or-later
#include "identifier.hpp"

#include <core/strings.hpp>
#include <dicom/charset.hpp>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcelem.h>
#include <dcmtk/dcmdata/dcsequen.h>

#include <unordered_map>

namespace net::internal {

namespace {

std::uint32_t
tag_of(const DcmTagKey& key)
{
  return (static_cast<std::uint32_t>(key.getGroup()) << 16) | key.getElement();
}

bool
is_ignored(const DcmTagKey& key)
{
  // Command and meta groups, group lengths (some GE devices send them), and
  // the keys the service layer handles itself.
  return key.getGroup() == 0x0000 || key.getGroup() == 0x0002 || key.getElement() == 0x0000
         || key == DCM_SpecificCharacterSet || key == DCM_QueryRetrieveLevel;
}

} // namespace

core::Result<store::FindRequest>
parse_identifier(DcmDataset& identifier, store::Model model, const std::string& fallback_charset)
{
  if (!dicom::decode_query_to_utf8(identifier, fallback_charset)) {
    OFString cs;
    identifier.findAndGetOFStringArray(DCM_SpecificCharacterSet, cs);
    return core::make_error(store::FindErrc::bad_charset, "'" + std::string(cs.c_str()) + "'");
  }
  store::FindRequest request;
  request.model = model;
  OFString level;
  if (identifier.findAndGetOFString(DCM_QueryRetrieveLevel, level).bad()) {
    return core::make_error(store::FindErrc::missing_level, "QueryRetrieveLevel (0008,0052)");
  }
  const std::string lv(core::trim(level.c_str()));
  if (lv == "PATIENT") {
    request.level = store::Level::patient;
  } else if (lv == "STUDY") {
    request.level = store::Level::study;
  } else if (lv == "SERIES") {
    request.level = store::Level::series;
  } else if (lv == "IMAGE") {
    request.level = store::Level::image;
  } else {
    return core::make_error(store::FindErrc::bad_level, "unknown QueryRetrieveLevel '" + lv + "'");
  }
  for (unsigned long i = 0; i < identifier.card(); ++i) {
    DcmElement* element = identifier.getElement(i);
    const DcmTagKey key = element->getTag();
    if (is_ignored(key)) {
      continue;
    }
    store::FindKey fk;
    fk.tag = tag_of(key);
    if (element->ident() == EVR_SQ) {
      fk.is_sequence = true;
    } else {
      OFString value;
      element->getOFStringArray(value);
      fk.value = std::string(core::trim(value.c_str()));
    }
    request.keys.push_back(std::move(fk));
  }
  return request;
}

std::unique_ptr<DcmDataset>
build_response(DcmDataset& request, const store::FindMatch& match, const std::string& retrieve_ae)
{
  std::unordered_map<std::uint32_t, const std::string*> values;
  for (const auto& [tag, value] : match.values) {
    values.emplace(tag, &value);
  }
  auto response = std::make_unique<DcmDataset>();
  response->putAndInsertString(DCM_SpecificCharacterSet, "ISO_IR 192");
  for (unsigned long i = 0; i < request.card(); ++i) {
    DcmElement* asked = request.getElement(i);
    const DcmTagKey key = asked->getTag();
    if (key.getGroup() == 0x0000 || key.getGroup() == 0x0002 || key.getElement() == 0x0000
        || key == DCM_SpecificCharacterSet) {
      continue;
    }
    if (key == DCM_QueryRetrieveLevel) {
      OFString level;
      asked->getOFStringArray(level);
      response->putAndInsertString(DCM_QueryRetrieveLevel, level.c_str());
      continue;
    }
    DcmTag tag(asked->getTag());
    DcmElement* out = nullptr;
    if (DcmItem::newDicomElementWithVR(out, tag).bad() || out == nullptr) {
      continue;
    }
    if (key == DCM_RetrieveAETitle) {
      out->putString(retrieve_ae.c_str());
    } else if (key == DCM_InstanceAvailability) {
      out->putString("ONLINE");
    } else if (const auto it = values.find(tag_of(key));
               it != values.end() && !it->second->empty()) {
      out->putString(it->second->c_str());
    }
    // Anything else stays zero length (a sequence stays empty): PS3.4
    // C.4.1.1.3.2 lets an SCP return unsupported optional keys empty.
    response->insert(out, OFTrue);
  }
  return response;
}

bool
encode_response(DcmDataset& response, const std::string& charset)
{
  if (charset.empty() || charset == "ISO_IR 192") {
    return true;
  }
  DcmDataset copy(response);
  if (copy.convertCharacterSet(charset.c_str(), 0).bad()) {
    return false;
  }
  response = copy;
  return true;
}

} // namespace net::internal
