// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

struct T_ASC_Association;

namespace net::internal {

// Accept or refuse every proposed presentation context (PS3.8 9.3.2.2):
// - Verification and the Query/Retrieve FIND/MOVE/GET SOP classes of the
//   Patient Root, Study Root and (retired) Patient/Study Only models, in an
//   uncompressed transfer syntax, the peer's first choice winning;
// - every storage SOP class DCMTK knows plus any other in the storage branch
//   1.2.840.10008.5.1.4.1.1, in the first transfer syntax the peer proposed
//   that DCMTK 3.6.7 can receive, with the role the peer proposed (SCP for
//   C-GET sub-operations; DEFAULT as Horos sends is kept too).
// Extended negotiation (PS3.4 C.5.1.1.2, C.5.2.1.1, C.5.3.1.1): relational
// queries and retrieval, and combined date-time matching, are accepted when
// asked; fuzzy matching, timezone adjustment and enhanced multi-frame
// conversion are not.
// Returns the number of accepted contexts.
int negotiate(T_ASC_Association* assoc);

// True if combined date-time matching was agreed for `find_sop_class`.
bool combined_datetime_agreed(T_ASC_Association* assoc, const char* find_sop_class);

// True if relational queries (C-FIND) or relational retrieval (C-MOVE,
// C-GET) were agreed for `sop_class`.
bool relational_agreed(T_ASC_Association* assoc, const char* sop_class);

} // namespace net::internal
