// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "association.hpp"

#include <net/access.hpp>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmnet/dimse.h>

#include <memory>
#include <string>

namespace net::internal {

// One association being served: what the service handlers share.
struct Session
{
  T_ASC_Association* assoc;
  const ServiceContext& context;
  std::string peer_ae;
  std::string peer_host;
  int socket;
  Grant grant;

  std::string peer() const { return peer_ae + "@" + peer_host; }
};

// The identifier of a C-FIND/C-GET/C-MOVE request, or nullptr after the
// association was aborted (logged). Identifiers are small (keys and UID
// lists): one larger than 256 KiB, or one that takes longer than the DIMSE
// timeout to arrive, cuts the connection.
std::unique_ptr<DcmDataset> receive_identifier(Session& s, T_ASC_PresentationContextID pres_id,
                                               const char* what);

// Each handler answers its request completely (PS3.7 9.1: every request
// gets a final response) and returns false only if the association broke
// and must end. They never throw.

// C-FIND SCP, PS3.4 C.4.1.
bool handle_find(Session& session, T_ASC_PresentationContextID pres_id, T_DIMSE_C_FindRQ& req);

// C-MOVE SCP, PS3.4 C.4.2: sub-operations on new associations to the
// configured destination.
bool handle_move(Session& session, T_ASC_PresentationContextID pres_id, T_DIMSE_C_MoveRQ& req);

// C-GET SCP, PS3.4 C.4.3: sub-operations on this association.
bool handle_get(Session& session, T_ASC_PresentationContextID pres_id, T_DIMSE_C_GetRQ& req);

} // namespace net::internal
