// SPDX-License-Identifier: GPL-3.0-or-later
#include "listener.hpp"

#include <core/log.hpp>

#include <arpa/inet.h>
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmnet/assoc.h>
#include <dcmtk/dcmnet/dul.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace net::internal {

namespace {

core::Error
errno_error(const std::string& what, int err = errno)
{
  return core::make_error(std::error_code(err, std::system_category()), what);
}

} // namespace

Listener::~Listener() { close(); }

core::Result<void>
Listener::open(const std::string& bind, int port, int acse_timeout, int first_pdu_timeout)
{
  m_first_pdu_timeout = std::chrono::seconds(first_pdu_timeout);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::inet_pton(AF_INET, bind.c_str(), &addr.sin_addr) != 1) {
    return core::make_error(std::make_error_code(std::errc::invalid_argument),
                            "bind address '" + bind + "'");
  }
  m_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
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
  if (::listen(m_fd, 128) != 0) {
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

namespace {

// PS3.8 9.3.2: an A-ASSOCIATE-RQ is a 6-byte header (type 01H, reserved,
// 32-bit big-endian length) and its variable items. Real ones are a few
// kilobytes (128 presentation contexts with several transfer syntaxes each
// stay under 64 KiB); anything larger is refused before it is buffered.
constexpr std::uint32_t k_max_request = 256 * 1024;
constexpr std::size_t k_pdu_header = 6;
// Connections allowed to wait for their request at once; past this the
// oldest is closed (a flood of silent connections costs only descriptors).
constexpr std::size_t k_max_waiting = 256;

} // namespace

void
Listener::accept_new()
{
  for (;;) {
    sockaddr_in peer{};
    socklen_t len = sizeof(peer);
    const int fd =
        ::accept4(m_fd, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED) {
        CF_LOG(warn, "net", "accept failed: " << std::strerror(errno));
      }
      return;
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    char text[INET_ADDRSTRLEN] = "";
    ::inet_ntop(AF_INET, &peer.sin_addr, text, sizeof(text));
    if (m_pending.size() >= k_max_waiting) {
      drop(0, "too many connections waiting for their association request");
    }
    m_pending.push_back({fd, text, std::chrono::steady_clock::now() + m_first_pdu_timeout});
  }
}

int
Listener::request_ready(Pending& p) const
{
  unsigned char header[k_pdu_header];
  const auto n = ::recv(p.fd, header, sizeof(header), MSG_PEEK | MSG_DONTWAIT);
  if (n == 0) {
    return -1; // closed before sending a request
  }
  if (n < 0) {
    return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : -1;
  }
  if (static_cast<std::size_t>(n) < k_pdu_header) {
    ::setsockopt(p.fd, SOL_SOCKET, SO_RCVLOWAT, &k_pdu_header, sizeof(int));
    return 0;
  }
  if (header[0] != 0x01) {
    CF_LOG(warn, "net",
           p.host << ": first PDU is type 0x" << std::hex << int(header[0]) << std::dec
                  << ", not an A-ASSOCIATE-RQ; closing");
    return -1;
  }
  const std::uint32_t length = (std::uint32_t(header[2]) << 24) | (std::uint32_t(header[3]) << 16)
                               | (std::uint32_t(header[4]) << 8) | std::uint32_t(header[5]);
  if (length > k_max_request) {
    CF_LOG(warn, "net",
           p.host << ": A-ASSOCIATE-RQ of " << length << " bytes is too large; closing");
    return -1;
  }
  int available = 0;
  if (::ioctl(p.fd, FIONREAD, &available) != 0) {
    return -1;
  }
  const int total = static_cast<int>(k_pdu_header + length);
  if (available >= total) {
    return 1;
  }
  // Wake poll() only once the whole request is buffered (Linux honours
  // SO_RCVLOWAT in poll for TCP), instead of on every segment.
  int buffer = 0;
  socklen_t len = sizeof(buffer);
  ::getsockopt(p.fd, SOL_SOCKET, SO_RCVBUF, &buffer, &len);
  if (buffer < 2 * total) {
    const int want = 2 * total;
    ::setsockopt(p.fd, SOL_SOCKET, SO_RCVBUF, &want, sizeof(want));
  }
  ::setsockopt(p.fd, SOL_SOCKET, SO_RCVLOWAT, &total, sizeof(total));
  return 0;
}

void
Listener::drop(std::size_t index, const char* why)
{
  CF_LOG(warn, "net", m_pending[index].host << ": connection closed: " << why);
  ::close(m_pending[index].fd);
  m_pending.erase(m_pending.begin() + static_cast<std::ptrdiff_t>(index));
}

T_ASC_Association*
Listener::next(int max_pdu, int wait_ms, int& socket)
{
  // Expire connections that did not deliver their request in time.
  const auto now = std::chrono::steady_clock::now();
  for (std::size_t i = m_pending.size(); i-- > 0;) {
    if (m_pending[i].deadline <= now) {
      drop(i, "no complete association request in time");
    }
  }
  auto wait = std::chrono::milliseconds(wait_ms);
  for (const auto& p : m_pending) {
    wait = std::min(wait, std::chrono::duration_cast<std::chrono::milliseconds>(p.deadline - now)
                              + std::chrono::milliseconds(1));
  }

  std::vector<pollfd> fds;
  fds.reserve(m_pending.size() + 1);
  fds.push_back({m_fd, POLLIN, 0});
  for (const auto& p : m_pending) {
    fds.push_back({p.fd, POLLIN, 0});
  }
  const int ready =
      ::poll(fds.data(), fds.size(), static_cast<int>(std::max<long>(0, wait.count())));
  if (ready <= 0) {
    return nullptr;
  }
  // One ready request per call; the rest are seen on the next call.
  T_ASC_Association* assoc = nullptr;
  for (std::size_t i = fds.size(); i-- > 1;) {
    if (fds[i].revents == 0 || assoc != nullptr) {
      continue;
    }
    auto& p = m_pending[i - 1];
    const int state = request_ready(p);
    if (state < 0) {
      drop(i - 1, "no association request");
    } else if (state > 0) {
      const int fd = p.fd;
      const std::string host = p.host;
      m_pending.erase(m_pending.begin() + static_cast<std::ptrdiff_t>(i - 1));
      assoc = receive(fd, host, max_pdu, socket);
    }
  }
  if ((fds[0].revents & POLLIN) != 0) {
    accept_new();
  }
  return assoc;
}

T_ASC_Association*
Listener::receive(int fd, const std::string& host, int max_pdu, int& socket)
{
  // DCMTK reads blocking from here on; the request is already buffered.
  const int flags = ::fcntl(fd, F_GETFL);
  ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &one, sizeof(one));

  // DCMTK takes over `fd` (receiveTransportConnectionTCP uses the external
  // handle instead of accept()); the association owns and closes it.
  T_ASC_Association* assoc = nullptr;
  dcmExternalSocketHandle.set(fd);
  const OFCondition cond =
      ASC_receiveAssociation(m_network, &assoc, max_pdu, nullptr, nullptr, OFFalse, DUL_NOBLOCK, 1);
  dcmExternalSocketHandle.set(-1);
  if (cond.bad()) {
    CF_LOG(warn, "net", host << ": association request not readable: " << cond.text());
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
  while (!m_pending.empty()) {
    ::close(m_pending.back().fd);
    m_pending.pop_back();
  }
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
