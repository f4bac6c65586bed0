// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <core/result.hpp>
#include <net/access.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace store {
class IngestSink;
class Query;
} // namespace store

namespace net {

struct AllowedPeer
{
  std::string ae_title; // empty: any
  std::string host;     // IPv4; empty: any
};

// A C-MOVE destination (PS3.4 C.4.2.2.1): where the Move Destination AE
// title is reached.
struct Destination
{
  std::string ae_title;
  std::string host;
  int port = 104;
};

struct ServerOptions
{
  std::string ae_title = "CLOUDFILM";
  std::string bind = "0.0.0.0";
  int port = 11112;
  int max_associations = 16;
  int max_pdu = 65536;
  int acse_timeout = 30;
  // Seconds a new connection has to deliver its whole A-ASSOCIATE-RQ; a
  // silent or trickling one is closed without holding up anyone else.
  int first_pdu_timeout = 5;
  int dimse_timeout = 60;
  int idle_timeout = 300;
  int shutdown_grace = 30;
  bool check_called_ae = false;
  std::vector<AllowedPeer> allowed_peers;               // non-empty: nobody else may associate
  AccessPolicy access;                                  // who may use which service
  std::map<std::string, std::string> response_charsets; // calling AE -> charset
  std::vector<Destination> destinations;
  int move_to_unknown_caller = 0;           // port; 0: an unknown C-MOVE destination is A801
  std::string fallback_charset = "GB18030"; // for undeclared non-UTF-8 queries
};

// The DICOM upper-layer service: our own listening socket (so the bind
// address is honoured; DCMTK 3.6.7 binds INADDR_ANY only), one listener
// thread that reads and negotiates A-ASSOCIATE-RQs, and a bounded pool of
// worker threads, one association each. When every worker is busy, new
// associations are rejected with "local limit exceeded" (PS3.8 7.1.1.9).
class Server
{
public:
  // `sink` takes C-STORE data; `query` answers C-FIND/C-GET/C-MOVE.
  Server(const ServerOptions& options, store::IngestSink& sink, store::Query& query);
  ~Server(); // stops and joins

  // Bind, listen and start the threads. Returns once the port accepts
  // connections. Errors: the bind/listen errno, or DCMTK's network init.
  core::Result<void> start();

  // Stop accepting. Running associations may finish for shutdown_grace
  // seconds, then are aborted. Returns at once; wait() joins.
  void stop();
  void wait();

private:
  class Impl;
  std::unique_ptr<Impl> m_impl;
};

} // namespace net
