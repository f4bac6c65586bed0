// SPDX-License-Identifier: GPL-3.0-or-later
#include "negotiation.hpp"

#include "qr_classes.hpp"

#include <dicom/transfer_syntax.hpp>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmnet/assoc.h>
#include <dcmtk/dcmnet/extneg.h>

#include <cstring>
#include <string>

namespace net::internal {

namespace {

// PS3.4 B.5: every standard storage SOP class lives under this root.
constexpr const char* k_storage_root = "1.2.840.10008.5.1.4.1.1.";

bool
is_storage(const char* uid)
{
  return dcmIsaStorageSOPClassUID(uid, ESSC_All)
         || std::strncmp(uid, k_storage_root, std::strlen(k_storage_root)) == 0;
}

bool
is_uncompressed(const char* ts)
{
  return std::strcmp(ts, UID_LittleEndianExplicitTransferSyntax) == 0
         || std::strcmp(ts, UID_LittleEndianImplicitTransferSyntax) == 0
         || std::strcmp(ts, UID_BigEndianExplicitTransferSyntax) == 0;
}

// SOP Class Extended Negotiation of Query/Retrieve (PS3.4 C.5.1.1.2 for
// C-FIND: 0 relational queries, 1 combined date-time matching, 2 fuzzy
// semantic PN matching, 3 timezone adjustment, ...; C.5.2.1.1 / C.5.3.1.1
// for C-MOVE / C-GET: 0 relational retrieval, 1 enhanced multi-frame
// conversion). Each item is answered with the length it came with: byte 0
// and, for C-FIND, byte 1 set when asked; nothing else is offered.
void
negotiate_extended(T_ASC_Parameters* params)
{
  SOPClassExtendedNegotiationSubItemList* requested = nullptr;
  ASC_getRequestedExtNegList(params, &requested);
  if (requested == nullptr || requested->empty()) {
    return;
  }
  auto* accepted = new SOPClassExtendedNegotiationSubItemList;
  for (const auto* item : *requested) {
    const auto service = qr_class(item->sopClassUID.c_str()).service;
    if (service == QrService::none || item->serviceClassAppInfoLength == 0) {
      continue;
    }
    auto* reply = new SOPClassExtendedNegotiationSubItem;
    reply->sopClassUID = item->sopClassUID;
    reply->serviceClassAppInfoLength = item->serviceClassAppInfoLength;
    reply->serviceClassAppInfo = new unsigned char[item->serviceClassAppInfoLength]();
    if (item->serviceClassAppInfo[0] == 1) {
      reply->serviceClassAppInfo[0] = 1; // relational queries / retrieval
    }
    if (service == QrService::find && item->serviceClassAppInfoLength > 1
        && item->serviceClassAppInfo[1] == 1) {
      reply->serviceClassAppInfo[1] = 1;
    }
    accepted->push_back(reply);
  }
  if (accepted->empty()) {
    delete accepted;
    return;
  }
  ASC_setAcceptedExtNegList(params, accepted); // DUL frees it with the association
}

} // namespace

int
negotiate(T_ASC_Association* assoc)
{
  T_ASC_Parameters* params = assoc->params;
  const char* verification[] = {UID_VerificationSOPClass};
  const char* plain_syntaxes[] = {UID_LittleEndianExplicitTransferSyntax,
                                  UID_LittleEndianImplicitTransferSyntax,
                                  UID_BigEndianExplicitTransferSyntax};
  // Refuses every context it does not accept, so call it first and override
  // the others below.
  ASC_acceptContextsWithPreferredTransferSyntaxes(params, verification, 1, plain_syntaxes, 3);

  const int count = ASC_countPresentationContexts(params);
  for (int i = 0; i < count; ++i) {
    T_ASC_PresentationContext pc;
    if (ASC_getPresentationContext(params, i, &pc).bad()) {
      continue;
    }
    const bool qr = qr_class(pc.abstractSyntax).service != QrService::none;
    if (!qr && !is_storage(pc.abstractSyntax)) {
      continue;
    }
    const char* chosen = nullptr;
    for (int j = 0; j < pc.transferSyntaxCount; ++j) {
      const char* ts = pc.proposedTransferSyntaxes[j];
      if (qr ? is_uncompressed(ts) : dicom::can_receive(ts)) {
        chosen = ts;
        break; // the peer's order wins
      }
    }
    if (chosen != nullptr) {
      ASC_acceptPresentationContext(params, pc.presentationContextID, chosen,
                                    qr ? ASC_SC_ROLE_DEFAULT : pc.proposedRole);
    } else {
      ASC_refusePresentationContext(params, pc.presentationContextID,
                                    ASC_P_TRANSFERSYNTAXESNOTSUPPORTED);
    }
  }
  negotiate_extended(params);
  return ASC_countAcceptedPresentationContexts(params);
}

namespace {

bool
ext_neg_agreed(T_ASC_Association* assoc, const char* sop_class, std::size_t index)
{
  SOPClassExtendedNegotiationSubItemList* accepted = nullptr;
  ASC_getAcceptedExtNegList(assoc->params, &accepted);
  if (accepted == nullptr) {
    return false;
  }
  for (const auto* item : *accepted) {
    if (item->sopClassUID == sop_class && item->serviceClassAppInfoLength > index
        && item->serviceClassAppInfo[index] == 1) {
      return true;
    }
  }
  return false;
}

} // namespace

bool
combined_datetime_agreed(T_ASC_Association* assoc, const char* find_sop_class)
{
  return ext_neg_agreed(assoc, find_sop_class, 1);
}

bool
relational_agreed(T_ASC_Association* assoc, const char* sop_class)
{
  return ext_neg_agreed(assoc, sop_class, 0);
}

} // namespace net::internal
