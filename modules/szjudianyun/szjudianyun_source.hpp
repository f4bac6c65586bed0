// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <source/source.hpp>

#include <memory>
#include <string>

// szjudianyun "Qingniao" cloud film (platforms.md 3.7): socket.io 2.x over a
// plain WebSocket to a fixed third-party server; every instance is one whole
// Part 10 file in one binary message. Link (password inside):
//   http://qr.szjudianyun.com/<path>/?a=<hospital_id>&b=<study>&c=<password>
// Options: server (default http://qinniaofu.coolingesaving.com:63001),
// connections (parallel sockets, default 2), timeout (seconds without a
// reply, default 30), retries (reconnects per instance, default 3).
namespace szjudianyun {

bool accepts(const std::string& url);
std::unique_ptr<source::Source> make(const source::Options& options);

} // namespace szjudianyun
