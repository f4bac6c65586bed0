// SPDX-License-Identifier: GPL-3.0-or-later
#include "echo_scu.hpp"

#include "errors.hpp"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmnet/scu.h>

#include <chrono>

namespace net {

core::Result<double>
echo(const StoreTarget& target)
{
  const auto start = std::chrono::steady_clock::now();
  DcmSCU scu;
  scu.setAETitle(target.our_ae_title.c_str());
  scu.setPeerAETitle(target.ae_title.c_str());
  scu.setPeerHostName(target.host.c_str());
  scu.setPeerPort(static_cast<Uint16>(target.port));
  scu.setACSETimeout(static_cast<Uint32>(target.acse_timeout));
  scu.setDIMSEBlockingMode(DIMSE_NONBLOCKING);
  scu.setDIMSETimeout(static_cast<Uint32>(target.dimse_timeout));
  OFList<OFString> syntaxes;
  syntaxes.push_back(UID_LittleEndianExplicitTransferSyntax);
  syntaxes.push_back(UID_LittleEndianImplicitTransferSyntax);
  scu.addPresentationContext(UID_VerificationSOPClass, syntaxes);
  const auto who = target.ae_title + "@" + target.host + ":" + std::to_string(target.port);
  OFCondition cond = scu.initNetwork();
  if (cond.good()) {
    cond = scu.negotiateAssociation();
  }
  if (cond.good()) {
    cond = scu.sendECHORequest(0);
  }
  if (cond.bad()) {
    return core::make_error(Errc::association_failed, who + ": " + cond.text());
  }
  scu.releaseAssociation();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

} // namespace net
