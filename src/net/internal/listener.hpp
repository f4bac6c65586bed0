// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <core/result.hpp>

#include <chrono>
#include <string>
#include <vector>

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

  core::Result<void> open(const std::string& bind, int port, int acse_timeout,
                          int first_pdu_timeout);

  // Wait up to `wait_ms` for a connection whose whole A-ASSOCIATE-RQ has
  // arrived, and read it. Connections are accepted at once and kept waiting
  // here until their request is complete in the socket buffer, so DCMTK's
  // read never blocks: a silent or slow connection holds up nobody, and is
  // closed after `first_pdu_timeout` seconds. Returns nullptr when no
  // request is ready or it could not be read (logged). `socket` receives the
  // connection's descriptor, which the association owns.
  T_ASC_Association* next(int max_pdu, int wait_ms, int& socket);

  // Connections accepted whose request is not complete yet.
  std::size_t waiting() const { return m_pending.size(); }

  void close();

private:
  struct Pending
  {
    int fd = -1;
    std::string host;
    std::chrono::steady_clock::time_point deadline;
  };

  void accept_new();
  // 1: the request is complete; 0: not yet; -1: give up on the connection.
  int request_ready(Pending& p) const;
  T_ASC_Association* receive(int fd, const std::string& host, int max_pdu, int& socket);
  void drop(std::size_t index, const char* why);

  int m_fd = -1;
  T_ASC_Network* m_network = nullptr;
  std::chrono::seconds m_first_pdu_timeout{5};
  std::vector<Pending> m_pending;
};

} // namespace net::internal
