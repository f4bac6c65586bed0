// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

struct T_ASC_Association;

namespace net::internal {

// Accept or refuse every proposed presentation context (PS3.8 9.3.2.2):
// Verification in explicit/implicit little endian; every storage SOP class
// DCMTK knows plus any other in the storage branch 1.2.840.10008.5.1.4.1.1,
// in the first transfer syntax the peer proposed that DCMTK 3.6.7 can
// receive, with the role the peer proposed (so C-GET SCUs work later).
// Returns the number of accepted contexts.
int negotiate(T_ASC_Association* assoc);

} // namespace net::internal
