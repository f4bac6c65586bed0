// SPDX-License-Identifier: GPL-3.0-or-later
#include "store_scu.hpp"

#include "errors.hpp"

#include <core/log.hpp>
#include <dicom/errors.hpp>
#include <dicom/transcode.hpp>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmnet/scu.h>

#include <map>
#include <set>

namespace net {

namespace {

const std::vector<std::string>&
uncompressed()
{
  static const std::vector<std::string> k_list{UID_LittleEndianExplicitTransferSyntax,
                                               UID_LittleEndianImplicitTransferSyntax};
  return k_list;
}

bool
is_uncompressed(const std::string& ts)
{
  return ts == UID_LittleEndianExplicitTransferSyntax
         || ts == UID_LittleEndianImplicitTransferSyntax
         || ts == UID_BigEndianExplicitTransferSyntax;
}

// SOP class -> its compressed stored syntaxes; each needs one context, plus
// one uncompressed context per SOP class.
std::map<std::string, std::set<std::string>>
contexts_for(const std::vector<SendItem>& items)
{
  std::map<std::string, std::set<std::string>> out;
  for (const auto& i : items) {
    auto& set = out[i.sop_class_uid];
    if (!is_uncompressed(i.transfer_syntax_uid)) {
      set.insert(i.transfer_syntax_uid);
    }
  }
  return out;
}

std::size_t
context_count(const std::map<std::string, std::set<std::string>>& m)
{
  std::size_t n = 0;
  for (const auto& [cls, set] : m) {
    n += 1 + set.size();
  }
  return n;
}

core::Error
net_error(Errc code, const std::string& detail)
{
  return core::make_error(code, detail);
}

} // namespace

class StoreScu::Impl
{
public:
  explicit Impl(const StoreTarget& target) : m_target(target) {}

  core::Result<void> open(const std::vector<SendItem>& items)
  {
    m_scu = std::make_unique<DcmSCU>();
    m_scu->setAETitle(m_target.our_ae_title.c_str());
    m_scu->setPeerAETitle(m_target.ae_title.c_str());
    m_scu->setPeerHostName(m_target.host.c_str());
    m_scu->setPeerPort(static_cast<Uint16>(m_target.port));
    m_scu->setMaxReceivePDULength(static_cast<Uint32>(m_target.max_pdu));
    m_scu->setACSETimeout(static_cast<Uint32>(m_target.acse_timeout));
    m_scu->setDIMSEBlockingMode(DIMSE_NONBLOCKING);
    m_scu->setDIMSETimeout(static_cast<Uint32>(m_target.dimse_timeout));
    for (const auto& [cls, compressed] : contexts_for(items)) {
      for (const auto& ts : compressed) {
        OFList<OFString> one;
        one.push_back(ts.c_str());
        m_scu->addPresentationContext(cls.c_str(), one);
      }
      OFList<OFString> plain;
      for (const auto& ts : uncompressed()) {
        plain.push_back(ts.c_str());
      }
      m_scu->addPresentationContext(cls.c_str(), plain);
    }
    const auto who = m_target.ae_title + "@" + m_target.host + ":" + std::to_string(m_target.port);
    OFCondition cond = m_scu->initNetwork();
    if (cond.good()) {
      cond = m_scu->negotiateAssociation();
    }
    if (cond.bad()) {
      m_scu.reset();
      // PS3.8 9.3.3.2: the peer refused every context, e.g. a SOP class it
      // does not store. Trying again will not change that.
      return net_error(cond == NET_EC_NoAcceptablePresentationContexts ? Errc::no_accepted_context
                                                                       : Errc::association_failed,
                       who + ": " + cond.text());
    }
    return {};
  }

  core::Result<SendResult> send(const SendItem& item, const std::string& originator,
                                std::uint16_t message_id)
  {
    if (!m_scu || !m_scu->isConnected()) {
      return net_error(Errc::exchange_failed, "not connected");
    }
    std::vector<std::string> accepted;
    std::vector<std::string> candidates{item.transfer_syntax_uid};
    candidates.insert(candidates.end(), uncompressed().begin(), uncompressed().end());
    for (const auto& ts : candidates) {
      if (m_scu->findPresentationContextID(item.sop_class_uid.c_str(), ts.c_str()) != 0) {
        accepted.push_back(ts);
      }
    }
    if (accepted.empty()) {
      return core::make_error(Errc::no_accepted_context,
                              "the peer refused SOP class " + item.sop_class_uid);
    }
    const auto target = dicom::choose_transfer_syntax(item.transfer_syntax_uid, accepted);
    if (target.empty()) {
      return core::make_error(dicom::Errc::cannot_transcode,
                              "peer accepts no usable transfer syntax for " + item.sop_class_uid);
    }
    const auto pres_id =
        m_scu->findPresentationContextID(item.sop_class_uid.c_str(), target.c_str());
    auto file = dicom::load_for_sending(item.file, target);
    if (!file) {
      return file.error();
    }
    Uint16 status = 0;
    const auto cond = m_scu->sendSTORERequest(pres_id, OFFilename(), (*file)->getDataset(), status,
                                              originator.c_str(), message_id);
    if (cond.bad()) {
      return net_error(Errc::exchange_failed,
                       "C-STORE of " + item.sop_instance_uid + ": " + cond.text());
    }
    return SendResult{status, target};
  }

  bool connected() const { return m_scu && m_scu->isConnected(); }

  void close()
  {
    if (m_scu && m_scu->isConnected()) {
      if (m_scu->releaseAssociation().bad()) {
        m_scu->abortAssociation();
      }
    }
    m_scu.reset();
  }

private:
  StoreTarget m_target;
  std::unique_ptr<DcmSCU> m_scu;
};

StoreScu::StoreScu(const StoreTarget& target) : m_impl(std::make_unique<Impl>(target)) {}

StoreScu::~StoreScu() { m_impl->close(); }

std::vector<std::vector<SendItem>>
StoreScu::batches(const std::vector<SendItem>& items)
{
  std::vector<std::vector<SendItem>> out;
  std::vector<SendItem> current;
  std::map<std::string, std::set<std::string>> contexts;
  for (const auto& item : items) {
    auto next = contexts;
    auto& set = next[item.sop_class_uid];
    if (!is_uncompressed(item.transfer_syntax_uid)) {
      set.insert(item.transfer_syntax_uid);
    }
    if (context_count(next) > 128 && !current.empty()) {
      out.push_back(std::move(current));
      current.clear();
      contexts.clear();
      next = {};
      auto& fresh = next[item.sop_class_uid];
      if (!is_uncompressed(item.transfer_syntax_uid)) {
        fresh.insert(item.transfer_syntax_uid);
      }
    }
    contexts = std::move(next);
    current.push_back(item);
  }
  if (!current.empty()) {
    out.push_back(std::move(current));
  }
  return out;
}

core::Result<void>
StoreScu::open(const std::vector<SendItem>& items)
{
  return m_impl->open(items);
}

core::Result<SendResult>
StoreScu::send(const SendItem& item, const std::string& move_originator_ae,
               std::uint16_t move_originator_message_id)
{
  return m_impl->send(item, move_originator_ae, move_originator_message_id);
}

bool
StoreScu::connected() const
{
  return m_impl->connected();
}

void
StoreScu::close()
{
  m_impl->close();
}

} // namespace net
