// SPDX-License-Identifier: GPL-3.0-or-later
#include "negotiation.hpp"

#include <dicom/transfer_syntax.hpp>

#include <dcmtk/config/osconfig.h>

#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmnet/assoc.h>

#include <cstring>

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
  // storage contexts below.
  ASC_acceptContextsWithPreferredTransferSyntaxes(params, verification, 1, plain_syntaxes, 3);

  const int count = ASC_countPresentationContexts(params);
  for (int i = 0; i < count; ++i) {
    T_ASC_PresentationContext pc;
    if (ASC_getPresentationContext(params, i, &pc).bad() || !is_storage(pc.abstractSyntax)) {
      continue;
    }
    const char* chosen = nullptr;
    for (int j = 0; j < pc.transferSyntaxCount; ++j) {
      if (dicom::can_receive(pc.proposedTransferSyntaxes[j])) {
        chosen = pc.proposedTransferSyntaxes[j];
        break; // the peer's order wins: store what it prefers to send
      }
    }
    if (chosen != nullptr) {
      ASC_acceptPresentationContext(params, pc.presentationContextID, chosen, pc.proposedRole);
    } else {
      ASC_refusePresentationContext(params, pc.presentationContextID,
                                    ASC_P_TRANSFERSYNTAXESNOTSUPPORTED);
    }
  }
  return ASC_countAcceptedPresentationContexts(params);
}

} // namespace net::internal
