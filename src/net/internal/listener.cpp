// SPDX-License-Identifier: GPL-3.0-or-later
#include "listener.hpp"

#include <core/log.hpp>

#include <dcmtk/config/osconfig.h>

#include <dcmtk/dcmnet/assoc.h>
#include <dcmtk/dcmnet/dul.h>

#include <arpa/inet.h>
#include <cerrno>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace net::internal {

namespace {

core::Error
errno_error(const std::string& what, int err = errno)
{
  return core::make_error(std::error_code(err, std::system_category()), what);
}

} // namespace

Listener::~Listener()
{
  close();
}

core::Result<void>
Listener::open(const std::string& bind, int port, int acse_timeout)
{
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::inet_pton(AF_INET, bind.c_str(), &addr.sin_addr) != 1) {
    return core::make_error(std::make_error_code(std::errc::invalid_argument),
                            "bind address '" + bind + "'");
  }
  m_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (m_fd < 0) {
    return errno_error("socket");
  }
  const int one = 1;
  ::setsockopt(m_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (::bind(m_fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    const int err = errno;
    close();
    return errno_error("bind " + bind + ":" + std::to_string(port), err);
  }
  if (::listen(m_fd, 64) != 0) {
    const int err = errno;
    close();
    return errno_error("listen", err);
  }
  // With an external socket set, DCMTK skips creating its own listening
  // socket (dul.cc initializeNetworkTCP); any valid descriptor will do.
  dcmExternalSocketHandle.set(m_fd);
  const OFCondition cond = ASC_initializeNetwork(NET_ACCEPTOR, port, acse_timeout, &m_network);
  dcmExternalSocketHandle.set(-1);
  if (cond.bad()) {
    close();
    return core::make_error(std::make_error_code(std::errc::io_error),
                            std::string("DICOM network initialisation: ") + cond.text());
  }
  return {};
}

T_ASC_Association*
Listener::next(int max_pdu, int wait_ms, int& socket)
{
  pollfd pfd{m_fd, POLLIN, 0};
  if (::poll(&pfd, 1, wait_ms) <= 0 || (pfd.revents & POLLIN) == 0) {
    return nullptr;
  }
  const int fd = ::accept4(m_fd, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) {
    if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
      CF_LOG(warn, "net", "accept failed: " << std::strerror(errno));
    }
    return nullptr;
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

  // DCMTK takes over `fd` (receiveTransportConnectionTCP uses the external
  // handle instead of accept()); the association owns and closes it.
  T_ASC_Association* assoc = nullptr;
  dcmExternalSocketHandle.set(fd);
  const OFCondition cond =
    ASC_receiveAssociation(m_network, &assoc, max_pdu, nullptr, nullptr, OFFalse, DUL_NOBLOCK, 1);
  dcmExternalSocketHandle.set(-1);
  if (cond.bad()) {
    CF_LOG(warn, "net", "association request not readable: " << cond.text());
    if (assoc != nullptr) {
      ASC_dropAssociation(assoc);
      ASC_destroyAssociation(&assoc);
    } else {
      ::close(fd);
    }
    return nullptr;
  }
  socket = fd;
  return assoc;
}

void
Listener::close()
{
  if (m_network != nullptr) {
    ASC_dropNetwork(&m_network);
    m_network = nullptr;
  }
  if (m_fd >= 0) {
    ::close(m_fd);
    m_fd = -1;
  }
}

} // namespace net::internal
