// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// Process-wide dcmnet settings. Call once from main() before any thread.
namespace net {

// No reverse DNS per association; Nagle off on every socket DCMTK opens
// (TCP_NODELAY=1; Debian's build leaves it on and stalls ~45 ms per
// C-STORE otherwise); SIGPIPE ignored (DCMTK does this on first use anyway,
// but not thread-safely).
void setup_network();

} // namespace net
