// SPDX-License-Identifier: GPL-3.0-or-later
// C-MOVE (PS3.4 C.4.2) and C-GET (PS3.4 C.4.3) SCP.
#include "identifier.hpp"
#include "qr_classes.hpp"
#include "session.hpp"
#include "status.hpp"

#include <core/log.hpp>
#include <core/strings.hpp>
#include <dicom/transcode.hpp>
#include <net/errors.hpp>
#include <net/server.hpp>
#include <net/store_scu.hpp>
#include <net/store_status.hpp>
#include <store/query.hpp>

#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>

#include <memory>

namespace net::internal {

namespace {

constexpr std::uint16_t k_pending = 0xFF00;
constexpr std::uint16_t k_cancelled = 0xFE00;
constexpr std::uint16_t k_warning_suboperations = 0xB000; // some failed or had warnings
constexpr std::uint16_t k_refused_suboperations = 0xA702; // unable to perform sub-operations
constexpr std::uint16_t k_refused_destination_unknown = 0xA801;

// The counts every C-MOVE/C-GET response carries (PS3.4 C.4.2.1.6-9). Kept
// at full width; the responses' US fields get them clamped to 65535.
struct Progress
{
  std::size_t remaining = 0;
  std::size_t completed = 0;
  std::size_t failed = 0;
  std::size_t warning = 0;
  std::vector<std::string> failed_uids;

  void record(std::uint16_t status, const std::string& sop_uid)
  {
    --remaining;
    // PS3.4 B.2.3; for a sub-operation a resources refusal is a failure too.
    const auto outcome = store_outcome(status);
    if (outcome == StoreOutcome::success) {
      ++completed;
    } else if (outcome == StoreOutcome::warning) {
      ++warning;
    } else {
      ++failed;
      failed_uids.push_back(sop_uid);
    }
  }
};

// Final status and the Failed SOP Instance UID List identifier (0008,0058).
std::uint16_t
final_status(const Progress& p, std::unique_ptr<DcmDataset>& identifier)
{
  if (p.failed == 0 && p.warning == 0) {
    return 0x0000;
  }
  if (!p.failed_uids.empty()) {
    identifier = std::make_unique<DcmDataset>();
    std::string list;
    for (const auto& uid : p.failed_uids) {
      list += (list.empty() ? "" : "\\") + uid;
    }
    identifier->putAndInsertString(DCM_FailedSOPInstanceUIDList, list.c_str());
  }
  return k_warning_suboperations;
}

std::unique_ptr<DcmDataset>
error_detail(const std::string& comment)
{
  if (comment.empty()) {
    return nullptr;
  }
  auto detail = std::make_unique<DcmDataset>();
  detail->putAndInsertString(DCM_ErrorComment, comment.c_str());
  return detail;
}

// The instances a retrieve identifier designates, or a failure status.
core::Result<std::vector<store::RetrieveItem>>
resolve(Session& s, DcmDataset& identifier, const char* sop_class)
{
  auto request =
      parse_identifier(identifier, qr_class(sop_class).model, s.context.options.fallback_charset);
  if (!request) {
    return request.error();
  }
  return s.context.query.retrieve(*request);
}

std::uint16_t
clamp16(std::size_t n)
{
  return static_cast<std::uint16_t>(std::min<std::size_t>(n, 0xFFFF));
}

// ---- C-MOVE ----------------------------------------------------------------

// One C-MOVE or C-GET response with the sub-operation counts; DCMTK drops
// Remaining from final responses itself (PS3.4 C.4.2.1.6).
template <typename Rsp, typename Rq, typename SendFn>
bool
send_counts(Session& s, T_ASC_PresentationContextID pres_id, const Rq& req, SendFn send,
            const char* what, std::uint16_t status, const Progress& p, DcmDataset* identifier,
            const std::string& comment)
{
  Rsp rsp{};
  rsp.DimseStatus = status;
  rsp.NumberOfRemainingSubOperations = clamp16(p.remaining);
  rsp.NumberOfCompletedSubOperations = clamp16(p.completed);
  rsp.NumberOfFailedSubOperations = clamp16(p.failed);
  rsp.NumberOfWarningSubOperations = clamp16(p.warning);
  auto detail = error_detail(comment);
  const auto cond = send(s.assoc, pres_id, &req, &rsp, identifier, detail.get());
  if (cond.bad()) {
    CF_LOG(warn, "net", s.peer() << ": cannot send " << what << " response: " << cond.text());
    return false;
  }
  return true;
}

bool
send_move(Session& s, T_ASC_PresentationContextID pres_id, const T_DIMSE_C_MoveRQ& req,
          std::uint16_t status, const Progress& p, DcmDataset* identifier,
          const std::string& comment = "")
{
  return send_counts<T_DIMSE_C_MoveRSP>(s, pres_id, req, DIMSE_sendMoveResponse, "C-MOVE", status,
                                        p, identifier, comment);
}

const Destination*
find_destination(const ServerOptions& options, const std::string& ae)
{
  for (const auto& d : options.destinations) {
    if (d.ae_title == ae) {
      return &d;
    }
  }
  return nullptr;
}

} // namespace

bool
handle_move(Session& s, T_ASC_PresentationContextID pres_id, T_DIMSE_C_MoveRQ& req)
{
  auto identifier = receive_identifier(s, pres_id, "C-MOVE");
  if (!identifier) {
    return false;
  }
  Progress p;
  if (!s.grant.allows(Service::move)) {
    CF_LOG(warn, "net", s.peer() << ": C-MOVE refused, " << s.grant.basis << " may not move");
    return send_move(s, pres_id, req, STATUS_MOVE_Refused_NotAuthorized, p, nullptr,
                     refusal_comment(Service::move, s.grant));
  }
  const std::string destination_ae(core::trim(req.MoveDestination));
  const auto* destination = find_destination(s.context.options, destination_ae);
  Destination caller;
  if (destination == nullptr && s.context.options.move_to_unknown_caller > 0
      && destination_ae == s.peer_ae) {
    // node.move_to_unknown_caller: back to where the request came from.
    caller = {destination_ae, s.peer_host, s.context.options.move_to_unknown_caller};
    destination = &caller;
    CF_LOG(info, "net",
           s.peer() << ": C-MOVE destination is the caller, not configured: "
                    << "sending to its address on port " << caller.port);
  }
  if (destination == nullptr) {
    // PS3.4 C.4.2.1.5: A801 Refused: Move Destination unknown.
    CF_LOG(warn, "net",
           s.peer() << ": C-MOVE to unknown destination '" << destination_ae
                    << "' (not in modalities)");
    return send_move(s, pres_id, req, k_refused_destination_unknown, p, nullptr,
                     "unknown move destination " + destination_ae);
  }
  auto items = resolve(s, *identifier, req.AffectedSOPClassUID);
  if (!items) {
    const auto status = find_failure_status(items.error());
    CF_LOG(warn, "net", s.peer() << ": C-MOVE refused: " << items.error().message());
    return send_move(s, pres_id, req, status.code, p, nullptr, status.comment);
  }
  p.remaining = items->size();
  CF_LOG(info, "net",
         s.peer() << ": C-MOVE of " << items->size() << " instances to " << destination_ae << "@"
                  << destination->host << ":" << destination->port);

  std::vector<SendItem> to_send;
  to_send.reserve(items->size());
  for (const auto& item : *items) {
    to_send.push_back(
        {item.sop_class_uid, item.sop_instance_uid, item.transfer_syntax_uid, item.path});
  }
  const StoreTarget target{
      s.context.options.ae_title, destination->ae_title,          destination->host,
      destination->port,          s.context.options.acse_timeout, s.context.options.dimse_timeout,
      s.context.options.max_pdu};
  for (const auto& batch : StoreScu::batches(to_send)) {
    StoreScu scu(target);
    if (auto r = scu.open(batch); !r) {
      // PS3.4 C.4.2.1.5: A702 when sub-operations cannot be performed.
      CF_LOG(warn, "net", s.peer() << ": C-MOVE destination unreachable: " << r.error().message());
      for (const auto& item : batch) {
        p.record(0xA702, item.sop_instance_uid);
      }
      for (std::size_t rest = p.remaining; rest > 0; --rest) {
        // Later batches are not tried once the destination is unreachable.
        const auto& item = to_send[to_send.size() - rest];
        p.record(0xA702, item.sop_instance_uid);
      }
      std::unique_ptr<DcmDataset> failed;
      final_status(p, failed);
      return send_move(s, pres_id, req,
                       p.completed + p.warning == 0 ? k_refused_suboperations
                                                    : k_warning_suboperations,
                       p, failed.get(), "destination unreachable");
    }
    for (const auto& item : batch) {
      if (DIMSE_checkForCancelRQ(s.assoc, pres_id, req.MessageID) == EC_Normal) {
        CF_LOG(info, "net", s.peer() << ": C-MOVE cancelled with " << p.remaining << " remaining");
        return send_move(s, pres_id, req, k_cancelled, p, nullptr);
      }
      auto sent = scu.send(item, s.peer_ae, req.MessageID);
      if (sent) {
        p.record(sent->status, item.sop_instance_uid);
      } else {
        CF_LOG(warn, "net",
               "C-MOVE sub-operation " << item.sop_instance_uid << " to " << destination_ae << ": "
                                       << sent.error().message());
        p.record(0xC000, item.sop_instance_uid);
        if (sent.error().code == Errc::exchange_failed) {
          scu.close();
          (void)scu.open(batch); // one reconnect; failures show in the next send
        }
      }
      if (p.remaining > 0 && !send_move(s, pres_id, req, k_pending, p, nullptr)) {
        return false;
      }
    }
    scu.close();
  }
  std::unique_ptr<DcmDataset> failed;
  auto status = final_status(p, failed);
  if (status != 0 && p.completed == 0 && p.warning == 0) {
    status = k_refused_suboperations; // nothing could be delivered at all
  }
  CF_LOG(info, "net",
         s.peer() << ": C-MOVE done: " << p.completed << " completed, " << p.failed << " failed, "
                  << p.warning << " warnings");
  return send_move(s, pres_id, req, status, p, failed.get());
}

// ---- C-GET -----------------------------------------------------------------

namespace {

bool
send_get(Session& s, T_ASC_PresentationContextID pres_id, const T_DIMSE_C_GetRQ& req,
         std::uint16_t status, const Progress& p, DcmDataset* identifier,
         const std::string& comment = "")
{
  return send_counts<T_DIMSE_C_GetRSP>(s, pres_id, req, DIMSE_sendGetResponse, "C-GET", status, p,
                                       identifier, comment);
}

// Accepted storage contexts of this association for `sop_class` on which we
// may act as C-STORE SCU: the peer proposed the SCP role (PS3.4 C.4.3.1.2,
// role selection) or no role at all, as Horos does (INTEROP.md).
std::vector<std::pair<std::string, T_ASC_PresentationContextID>>
storage_contexts(T_ASC_Association* assoc, const std::string& sop_class)
{
  std::vector<std::pair<std::string, T_ASC_PresentationContextID>> out;
  const int n = ASC_countPresentationContexts(assoc->params);
  for (int i = 0; i < n; ++i) {
    T_ASC_PresentationContext pc;
    if (ASC_getPresentationContext(assoc->params, i, &pc).bad()
        || pc.resultReason != ASC_P_ACCEPTANCE || sop_class != pc.abstractSyntax) {
      continue;
    }
    if (pc.proposedRole == ASC_SC_ROLE_SCU) {
      continue; // the peer only wants to send this class
    }
    out.emplace_back(pc.acceptedTransferSyntax, pc.presentationContextID);
  }
  return out;
}

struct GetCancel
{
  T_DIMSE_DetectedCancelParameters params{};
};

} // namespace

bool
handle_get(Session& s, T_ASC_PresentationContextID pres_id, T_DIMSE_C_GetRQ& req)
{
  auto identifier = receive_identifier(s, pres_id, "C-GET");
  if (!identifier) {
    return false;
  }
  Progress p;
  if (!s.grant.allows(Service::get)) {
    // PS3.7 Annex C general status 0124 Refused: Not Authorized.
    CF_LOG(warn, "net", s.peer() << ": C-GET refused, " << s.grant.basis << " may not get");
    return send_get(s, pres_id, req, STATUS_MOVE_Refused_NotAuthorized, p, nullptr,
                    refusal_comment(Service::get, s.grant));
  }
  auto items = resolve(s, *identifier, req.AffectedSOPClassUID);
  if (!items) {
    const auto status = find_failure_status(items.error());
    CF_LOG(warn, "net", s.peer() << ": C-GET refused: " << items.error().message());
    return send_get(s, pres_id, req, status.code, p, nullptr, status.comment);
  }
  p.remaining = items->size();
  CF_LOG(info, "net", s.peer() << ": C-GET of " << items->size() << " instances");

  DIC_US message_id = 1;
  for (const auto& item : *items) {
    const auto contexts = storage_contexts(s.assoc, item.sop_class_uid);
    std::vector<std::string> accepted;
    for (const auto& c : contexts) {
      accepted.push_back(c.first);
    }
    const auto ts = dicom::choose_transfer_syntax(item.transfer_syntax_uid, accepted);
    if (ts.empty()) {
      CF_LOG(warn, "net",
             s.peer() << ": C-GET: no usable storage context for " << item.sop_class_uid << " ("
                      << item.sop_instance_uid << ")");
      p.record(k_refused_suboperations, item.sop_instance_uid);
    } else {
      T_ASC_PresentationContextID store_pres = 0;
      for (const auto& c : contexts) {
        if (c.first == ts) {
          store_pres = c.second;
          break;
        }
      }
      auto file = dicom::load_for_sending(item.path, ts);
      if (!file) {
        CF_LOG(warn, "net",
               "C-GET sub-operation " << item.sop_instance_uid << ": " << file.error().message());
        p.record(0xC000, item.sop_instance_uid);
      } else {
        T_DIMSE_C_StoreRQ store{};
        store.MessageID = message_id++;
        OFStandard::strlcpy(store.AffectedSOPClassUID, item.sop_class_uid.c_str(),
                            sizeof(store.AffectedSOPClassUID));
        OFStandard::strlcpy(store.AffectedSOPInstanceUID, item.sop_instance_uid.c_str(),
                            sizeof(store.AffectedSOPInstanceUID));
        store.Priority = DIMSE_PRIORITY_MEDIUM;
        store.DataSetType = DIMSE_DATASET_PRESENT;
        T_DIMSE_C_StoreRSP rsp{};
        DcmDataset* status_detail = nullptr;
        GetCancel cancel;
        const auto cond =
            DIMSE_storeUser(s.assoc, store_pres, &store, nullptr, (*file)->getDataset(), nullptr,
                            nullptr, DIMSE_NONBLOCKING, s.context.options.dimse_timeout, &rsp,
                            &status_detail, &cancel.params);
        delete status_detail;
        if (cond.bad()) {
          CF_LOG(warn, "net", s.peer() << ": C-GET sub-operation failed: " << cond.text());
          ASC_abortAssociation(s.assoc);
          return false;
        }
        p.record(rsp.DimseStatus, item.sop_instance_uid);
        if (cancel.params.cancelEncountered) {
          CF_LOG(info, "net", s.peer() << ": C-GET cancelled with " << p.remaining << " remaining");
          return send_get(s, pres_id, req, k_cancelled, p, nullptr);
        }
      }
    }
    if (DIMSE_checkForCancelRQ(s.assoc, pres_id, req.MessageID) == EC_Normal) {
      CF_LOG(info, "net", s.peer() << ": C-GET cancelled with " << p.remaining << " remaining");
      return send_get(s, pres_id, req, k_cancelled, p, nullptr);
    }
    if (p.remaining > 0 && !send_get(s, pres_id, req, k_pending, p, nullptr)) {
      return false;
    }
  }
  std::unique_ptr<DcmDataset> failed;
  auto status = final_status(p, failed);
  if (status != 0 && p.completed == 0 && p.warning == 0) {
    status = k_refused_suboperations; // nothing could be sent at all
  }
  CF_LOG(info, "net",
         s.peer() << ": C-GET done: " << p.completed << " completed, " << p.failed << " failed, "
                  << p.warning << " warnings");
  return send_get(s, pres_id, req, status, p, failed.get());
}

} // namespace net::internal
