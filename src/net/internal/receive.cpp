// SPDX-License-Identifier: GPL-3.0-or-later
// Receiving the identifier of a C-FIND, C-GET or C-MOVE request.
#include "session.hpp"

#include <core/log.hpp>
#include <net/server.hpp>

#include <dcmtk/dcmdata/dcdatset.h>
#include <sys/socket.h>

#include <chrono>

namespace net::internal {

namespace {

// DCMTK parses the identifier while it arrives (recursively, for nested
// sequences), so its size is what bounds memory and stack. Real identifiers
// are a few kilobytes; a list of 1,000 UIDs is 64 KiB.
constexpr unsigned long k_max_identifier = 256 * 1024;

// Called by DCMTK (C code) after each PDV with the bytes received so far:
// past the size or time limit the connection is shut down, which makes
// DCMTK's next read fail. Must not throw.
struct Limit
{
  int socket;
  std::chrono::steady_clock::time_point deadline;
  bool too_large = false;
  bool too_slow = false;

  static void on_progress(void* ctx, unsigned long bytes) noexcept
  {
    auto& l = *static_cast<Limit*>(ctx);
    if (l.too_large || l.too_slow) {
      return;
    }
    if (bytes > k_max_identifier) {
      l.too_large = true;
    } else if (std::chrono::steady_clock::now() > l.deadline) {
      l.too_slow = true;
    } else {
      return;
    }
    ::shutdown(l.socket, SHUT_RDWR);
  }
};

} // namespace

std::unique_ptr<DcmDataset>
receive_identifier(Session& s, T_ASC_PresentationContextID pres_id, const char* what)
{
  const int timeout = s.context.options.dimse_timeout;
  Limit limit{s.socket, std::chrono::steady_clock::now() + std::chrono::seconds(timeout)};
  DcmDataset* raw = nullptr;
  T_ASC_PresentationContextID data_pres_id = pres_id;
  const OFCondition cond = DIMSE_receiveDataSetInMemory(
      s.assoc, DIMSE_NONBLOCKING, timeout, &data_pres_id, &raw, &Limit::on_progress, &limit);
  std::unique_ptr<DcmDataset> identifier(raw);
  if (cond.bad() || limit.too_large || limit.too_slow) {
    const std::string why = limit.too_large  ? "larger than 256 KiB"
                            : limit.too_slow ? "not complete within the DIMSE timeout"
                                             : cond.text();
    CF_LOG(warn, "net",
           s.peer() << ": " << what << " identifier not received (" << why << "), aborting");
    ASC_abortAssociation(s.assoc);
    return nullptr;
  }
  return identifier;
}

} // namespace net::internal
