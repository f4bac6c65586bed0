// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "corpus.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

// A local stand-in for szjudianyun's socket.io server (platforms.md 3.7,
// 8.3.7): Engine.IO v3 polling handshake and WebSocket on one loopback port
// (Boost.Beast, one thread per connection), the whole fixture file in one
// binary message per hangC request.
namespace replica {

struct SioOptions
{
  std::chrono::milliseconds latency{0}; // before every reply to hangC and polling
  bool expired = false;                 // saveC answers an error event
  // "ROUTE:KIND[:ARG][@CALLS]": polling:status:CODE, polling:rate_limit[:S],
  // hangC:close (drop the socket instead of answering), hangC:noise (3/6
  // frames and an unrelated event first), hangC:fragment (continuation
  // frames), hangC:no_prefix (EIO4-style raw binary), saveC:silent.
  std::vector<std::string> faults;
};

class SioReplica
{
public:
  // Listens at once; throws std::runtime_error on a bad fault spec.
  SioReplica(Study study, SioOptions options);
  ~SioReplica();

  nlohmann::json info() const;
  nlohmann::json log() const;
  void stop();

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

} // namespace replica
