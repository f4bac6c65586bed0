// SPDX-License-Identifier: GPL-3.0-or-later
#include "association.hpp"

#include "session.hpp"
#include "status.hpp"

#include <core/fs.hpp>
#include <core/log.hpp>
#include <net/server.hpp>
#include <store/ingest.hpp>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcostrmf.h>
#include <dcmtk/dcmnet/assoc.h>
#include <dcmtk/dcmnet/dimse.h>
#include <sys/socket.h>

#include <chrono>
#include <exception>
#include <filesystem>
#include <memory>

namespace net::internal {

namespace {

// A-ABORT without DCMTK's wait for the peer to close its side (up to the
// ACSE timeout): after an idle timeout or at shutdown the peer may be gone
// or unresponsive, and the slot must be freed now.
void
abort_now(T_ASC_Association* assoc, int socket)
{
  ::shutdown(socket, SHUT_RD);
  ASC_abortAssociation(assoc);
}

// Keeps a peer from holding a worker by trickling a dataset: DCMTK's
// timeout applies to each PDU, so one PDU a minute would never end. After
// the first DIMSE timeout, a dataset that arrives slower than k_min_rate on
// average has its connection shut down; DCMTK's next read then fails.
// Called from DCMTK's C code: must not throw.
struct Trickle
{
  static constexpr std::uint64_t k_min_rate = 16 * 1024; // bytes per second

  int socket;
  std::chrono::steady_clock::time_point start;
  std::chrono::seconds grace;
  std::uint64_t received = 0;
  bool cut = false;

  static void on_progress(void* ctx, unsigned long bytes) noexcept
  {
    auto& t = *static_cast<Trickle*>(ctx);
    t.received = bytes;
    const auto elapsed = std::chrono::steady_clock::now() - t.start;
    if (t.cut || elapsed < t.grace) {
      return;
    }
    const auto seconds = std::chrono::duration<double>(elapsed).count();
    if (static_cast<double>(bytes) < seconds * k_min_rate) {
      t.cut = true;
      ::shutdown(t.socket, SHUT_RDWR);
    }
  }
};

struct Counters
{
  long stored = 0;
  long duplicates = 0;
  long failed = 0;
  long echoes = 0;
};

class Association
{
public:
  Association(T_ASC_Association* assoc, int socket, const Grant& grant,
              const ServiceContext& context)
      : m_assoc(assoc), m_socket(socket), m_context(context),
        m_peer_ae(assoc->params->DULparams.callingAPTitle),
        m_peer_host(assoc->params->DULparams.callingPresentationAddress),
        m_session{assoc, context, m_peer_ae, m_peer_host, socket, grant}
  {
  }

  void run()
  {
    int idle = 0;
    for (;;) {
      T_ASC_PresentationContextID pres_id = 0;
      T_DIMSE_Message msg;
      DcmDataset* status_detail = nullptr;
      const OFCondition cond =
          DIMSE_receiveCommand(m_assoc, DIMSE_NONBLOCKING, 1, &pres_id, &msg, &status_detail);
      delete status_detail;
      if (cond == DIMSE_NODATAAVAILABLE) {
        if (++idle >= m_context.options.idle_timeout) {
          CF_LOG(warn, "net", peer() << ": idle for " << idle << " s, aborting");
          abort_now(m_assoc, m_socket);
          break;
        }
        if (shutdown_deadline_passed()) {
          CF_LOG(warn, "net", peer() << ": shutting down, aborting association");
          abort_now(m_assoc, m_socket);
          break;
        }
        continue;
      }
      if (cond == DUL_PEERREQUESTEDRELEASE) {
        ASC_acknowledgeRelease(m_assoc);
        break;
      }
      if (cond == DUL_PEERABORTEDASSOCIATION) {
        CF_LOG(info, "net", peer() << ": peer aborted");
        break;
      }
      if (cond.bad()) {
        CF_LOG(warn, "net", peer() << ": receive failed (" << cond.text() << "), aborting");
        ASC_abortAssociation(m_assoc);
        break;
      }
      idle = 0;
      bool keep_going = true;
      switch (msg.CommandField) {
      case DIMSE_C_ECHO_RQ:
        keep_going = handle_echo(pres_id, msg.msg.CEchoRQ);
        break;
      case DIMSE_C_STORE_RQ:
        keep_going = m_session.grant.allows(Service::store)
                         ? handle_store(pres_id, msg.msg.CStoreRQ)
                         : refuse_store(pres_id, msg.msg.CStoreRQ);
        break;
      case DIMSE_C_FIND_RQ:
        keep_going = handle_find(m_session, pres_id, msg.msg.CFindRQ);
        break;
      case DIMSE_C_MOVE_RQ:
        keep_going = handle_move(m_session, pres_id, msg.msg.CMoveRQ);
        break;
      case DIMSE_C_GET_RQ:
        keep_going = handle_get(m_session, pres_id, msg.msg.CGetRQ);
        break;
      case DIMSE_C_CANCEL_RQ:
        // A C-CANCEL after its operation finished: nothing to stop (PS3.7 9.3.2.3).
        break;
      default:
        // Only Verification, Storage and Q/R contexts are accepted, so any
        // other command is a protocol error (PS3.7 8.3.1: unrecognized operation).
        CF_LOG(warn, "net",
               peer() << ": unsupported command 0x" << std::hex << msg.CommandField
                      << ", aborting");
        ASC_abortAssociation(m_assoc);
        keep_going = false;
        break;
      }
      if (!keep_going) {
        break;
      }
    }
    CF_LOG(info, "net",
           peer() << ": association ended: " << m_counters.stored << " stored, "
                  << m_counters.duplicates << " duplicates, " << m_counters.failed << " failed, "
                  << m_counters.echoes << " echoes");
  }

private:
  std::string peer() const { return m_peer_ae + "@" + m_peer_host; }

  bool shutdown_deadline_passed() const
  {
    if (!m_context.stopping.load()) {
      return false;
    }
    return std::chrono::steady_clock::now().time_since_epoch().count() >= m_context.abort_at.load();
  }

  bool handle_echo(T_ASC_PresentationContextID pres_id, const T_DIMSE_C_EchoRQ& req)
  {
    ++m_counters.echoes;
    const auto cond = DIMSE_sendEchoResponse(m_assoc, pres_id, &req, STATUS_Success, nullptr);
    if (cond.bad()) {
      CF_LOG(warn, "net", peer() << ": cannot send C-ECHO response: " << cond.text());
      return false;
    }
    return true;
  }

  // Not authorised (access.hpp): the dataset is read and dropped, and the
  // response is 0124 Refused: Not Authorized (PS3.7 Annex C, general status).
  bool refuse_store(T_ASC_PresentationContextID pres_id, const T_DIMSE_C_StoreRQ& req)
  {
    ++m_counters.failed;
    CF_LOG(warn, "net",
           peer() << ": C-STORE of " << req.AffectedSOPInstanceUID << " refused, "
                  << m_session.grant.basis << " may not store");
    DIC_UL bytes = 0;
    DIC_UL pdvs = 0;
    const auto cond = DIMSE_ignoreDataSet(m_assoc, DIMSE_NONBLOCKING,
                                          m_context.options.dimse_timeout, &bytes, &pdvs);
    if (cond.bad()) {
      CF_LOG(warn, "net", peer() << ": dataset not received: " << cond.text() << ", aborting");
      ASC_abortAssociation(m_assoc);
      return false;
    }
    return send_store_response(
        pres_id, req,
        {STATUS_STORE_Refused_NotAuthorized, refusal_comment(Service::store, m_session.grant)});
  }

  // PS3.4 B.2: receive the dataset straight into a spool file (bit-exact, as
  // received), hand it to the store, and only then answer.
  bool handle_store(T_ASC_PresentationContextID pres_id, const T_DIMSE_C_StoreRQ& req)
  {
    const auto spool = m_context.sink.spool_path();
    DimseStatus status;
    bool receive_ok = receive_to_file(pres_id, req, spool, status);
    if (!receive_ok) {
      std::error_code ec;
      std::filesystem::remove(spool, ec);
      return false; // the association is unusable
    }
    if (status.code == 0) {
      try {
        const store::Origin origin{store::Origin::Kind::dimse, m_peer_ae};
        const store::Claimed claimed{req.AffectedSOPClassUID, req.AffectedSOPInstanceUID};
        const auto result = m_context.sink.ingest(spool, origin, claimed);
        if (result) {
          if (result->duplicate) {
            ++m_counters.duplicates;
            CF_LOG(info, "store",
                   peer() << ": duplicate " << req.AffectedSOPInstanceUID << " kept first copy");
          } else {
            ++m_counters.stored;
            CF_LOG(debug, "store", peer() << ": stored " << req.AffectedSOPInstanceUID);
          }
          if (!result->charset_note.empty()) {
            CF_LOG(warn, "store", req.AffectedSOPInstanceUID << ": " << result->charset_note);
          }
        } else {
          status = store_failure_status(result.error());
          CF_LOG(warn, "store",
                 peer() << ": " << req.AffectedSOPInstanceUID << " refused (0x" << std::hex
                        << status.code << std::dec << "): " << result.error().message());
        }
      } catch (const std::exception& e) {
        // Nothing may escape into DCMTK: a bug here is a failed C-STORE.
        std::error_code ec;
        std::filesystem::remove(spool, ec);
        status = {0xA700, "internal error"};
        CF_LOG(error, "store", peer() << ": " << req.AffectedSOPInstanceUID << ": " << e.what());
      }
    }
    if (status.code != 0) {
      ++m_counters.failed;
    }
    return send_store_response(pres_id, req, status);
  }

  // False only when the association itself failed; `status` is set non-zero
  // when the dataset was consumed but could not be written.
  bool receive_to_file(T_ASC_PresentationContextID pres_id, const T_DIMSE_C_StoreRQ& req,
                       const std::filesystem::path& spool, DimseStatus& status)
  {
    const int timeout = m_context.options.dimse_timeout;
    DcmOutputFileStream* raw_stream = nullptr;
    OFCondition cond =
        DIMSE_createFilestream(spool.c_str(), &req, m_assoc, pres_id, 1, &raw_stream);
    std::unique_ptr<DcmOutputFileStream> stream(raw_stream);
    if (cond.bad()) {
      CF_LOG(error, "store", "cannot create spool file " << spool << ": " << cond.text());
      cond = DIMSE_ignoreDataSet(m_assoc, DIMSE_NONBLOCKING, timeout, nullptr, nullptr);
      status = {0xA700, "cannot create spool file"};
      return cond.good();
    }
    const auto meta_size = static_cast<std::uint64_t>(stream->tell());
    T_ASC_PresentationContextID data_pres_id = pres_id;
    Trickle guard{m_socket, std::chrono::steady_clock::now(), std::chrono::seconds(timeout)};
    cond = DIMSE_receiveDataSetInFile(m_assoc, DIMSE_NONBLOCKING, timeout, &data_pres_id,
                                      stream.get(), &Trickle::on_progress, &guard);
    const std::uint64_t received = guard.received;
    if (guard.cut) {
      CF_LOG(warn, "net",
             peer() << ": dataset of " << req.AffectedSOPInstanceUID << " arrives at "
                    << "under " << Trickle::k_min_rate / 1024 << " KiB/s; connection cut");
    }
    const bool write_ok = stream->good();
    stream.reset(); // flush and close
    if (cond.module() == OFM_dcmnet && cond.code() == DIMSEC_OUTOFRESOURCES) {
      // DCMTK could not write and drained the rest of the dataset.
      status = {0xA700, "storage full or unwritable"};
      return true;
    }
    if (cond.bad()) {
      CF_LOG(warn, "net",
             peer() << ": dataset of " << req.AffectedSOPInstanceUID
                    << " not received: " << cond.text());
      ASC_abortAssociation(m_assoc);
      return false;
    }
    // The stream buffers; a full disk at the final flush only shows as a
    // short file.
    const auto size = core::fs::file_size(spool);
    if (!write_ok || !size || *size != meta_size + received) {
      status = {0xA700, "storage full or unwritable"};
      return true;
    }
    return true;
  }

  bool send_store_response(T_ASC_PresentationContextID pres_id, const T_DIMSE_C_StoreRQ& req,
                           const DimseStatus& status)
  {
    T_DIMSE_C_StoreRSP rsp{};
    rsp.DimseStatus = status.code;
    std::unique_ptr<DcmDataset> detail;
    if (!status.comment.empty()) {
      detail = std::make_unique<DcmDataset>();
      detail->putAndInsertString(DCM_ErrorComment, status.comment.c_str());
    }
    const auto cond = DIMSE_sendStoreResponse(m_assoc, pres_id, &req, &rsp, detail.get());
    if (cond.bad()) {
      CF_LOG(warn, "net", peer() << ": cannot send C-STORE response: " << cond.text());
      return false;
    }
    return true;
  }

  T_ASC_Association* m_assoc;
  int m_socket;
  const ServiceContext& m_context;
  std::string m_peer_ae;
  std::string m_peer_host;
  Session m_session;
  Counters m_counters;
};

} // namespace

void
serve_association(T_ASC_Association* assoc, int socket, const Grant& grant,
                  const ServiceContext& context)
{
  try {
    Association(assoc, socket, grant, context).run();
  } catch (const std::exception& e) {
    CF_LOG(error, "net", "association handler failed: " << e.what());
    ASC_abortAssociation(assoc);
  }
}

} // namespace net::internal
