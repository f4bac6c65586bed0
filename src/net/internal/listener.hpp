// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <core/result.hpp>

#include <string>

struct T_ASC_Network;
struct T_ASC_Association;

namespace net::internal {

// Our own IPv4 listening socket plus a DCMTK acceptor network that reads
// associations from the sockets we accept (through dcmnet's external-socket
// hook, as inetd mode does). Gives a configurable bind address, close-on-exec
// sockets and Nagle off. Used by one thread only.
class Listener
{
public:
  Listener() = default;
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  core::Result<void> open(const std::string& bind, int port, int acse_timeout);

  // Wait up to `wait_ms` for a connection; read its A-ASSOCIATE-RQ (bounded
  // by the ACSE timeout). Returns nullptr when nothing arrived or the
  // request could not be read (logged). `socket` receives the connection's
  // descriptor, which the association owns.
  T_ASC_Association* next(int max_pdu, int wait_ms, int& socket);

  void close();

private:
  int m_fd = -1;
  T_ASC_Network* m_network = nullptr;
};

} // namespace net::internal
