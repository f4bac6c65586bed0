// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <atomic>
#include <chrono>

struct T_ASC_Association;

namespace store {
class IngestSink;
class Query;
} // namespace store

namespace net {
struct ServerOptions;
struct Grant;
} // namespace net

namespace net::internal {

// Shared by all associations of one server.
struct ServiceContext
{
  const ServerOptions& options;
  store::IngestSink& sink;
  store::Query& query;
  std::atomic<bool>& stopping;
  // When stopping: the moment running associations are aborted.
  std::atomic<std::chrono::steady_clock::rep>& abort_at;
};

// Serve an acknowledged association until the peer releases or aborts, the
// idle timeout passes, or shutdown's grace period ends. Does not drop or
// destroy `assoc`. Never throws.
// `socket` is the association's connection (to cut it short on abort).
// `grant` says which services the peer may use (access.hpp).
void serve_association(T_ASC_Association* assoc, int socket, const Grant& grant,
                       const ServiceContext& context);

} // namespace net::internal
