// SPDX-License-Identifier: GPL-3.0-or-later
#include "setup.hpp"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmnet/dul.h>

#include <csignal>
#include <cstdlib>

namespace net {

void
setup_network()
{
  dcmDisableGethostbyaddr.set(OFTrue);
  // TCP connect timeout of outgoing associations (C-MOVE, forwarding); a
  // process-global in DCMTK 3.6.7.
  dcmConnectionTimeout.set(15);
  ::setenv("TCP_NODELAY", "1", 1);
  std::signal(SIGPIPE, SIG_IGN);
}

} // namespace net
