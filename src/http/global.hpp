// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

namespace http {

// Initialise libcurl (curl_global_init) once per process. main() calls it
// before starting threads; Client's constructor calls it too, so tests and
// tools need not. Safe to call any number of times, from any thread: it runs
// under std::call_once, and libcurl 7.84+ (Debian 12 ships 7.88) has a
// thread-safe global init anyway. libcurl is never de-initialised.
void global_init();

} // namespace http
