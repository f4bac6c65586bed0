// SPDX-License-Identifier: GPL-3.0-or-later
// C-FIND SCP (PS3.4 C.4.1), answered from the index only.
#include "identifier.hpp"
#include "negotiation.hpp"
#include "qr_classes.hpp"
#include "session.hpp"
#include "status.hpp"

#include <core/log.hpp>
#include <net/server.hpp>
#include <store/query.hpp>

#include <dcmtk/dcmdata/dcdeftag.h>

#include <memory>

namespace net::internal {

namespace {

constexpr std::uint16_t k_pending = 0xFF00;
constexpr std::uint16_t k_pending_optional_keys_unsupported = 0xFF01;
constexpr std::uint16_t k_cancelled = 0xFE00;

bool
send(Session& s, T_ASC_PresentationContextID pres_id, const T_DIMSE_C_FindRQ& req,
     const DimseStatus& status, DcmDataset* identifier)
{
  T_DIMSE_C_FindRSP rsp{};
  rsp.DimseStatus = status.code;
  std::unique_ptr<DcmDataset> detail;
  if (!status.comment.empty()) {
    detail = std::make_unique<DcmDataset>();
    detail->putAndInsertString(DCM_ErrorComment, status.comment.c_str());
  }
  const auto cond = DIMSE_sendFindResponse(s.assoc, pres_id, &req, &rsp, identifier, detail.get());
  if (cond.bad()) {
    CF_LOG(warn, "net", s.peer() << ": cannot send C-FIND response: " << cond.text());
    return false;
  }
  return true;
}

} // namespace

bool
handle_find(Session& s, T_ASC_PresentationContextID pres_id, T_DIMSE_C_FindRQ& req)
{
  auto identifier = receive_identifier(s, pres_id, "C-FIND");
  if (!identifier) {
    return false;
  }
  if (!s.grant.allows(Service::find)) {
    // PS3.7 Annex C general status 0124 Refused: Not Authorized.
    CF_LOG(warn, "net", s.peer() << ": C-FIND refused, " << s.grant.basis << " may not query");
    return send(s, pres_id, req, {0x0124, refusal_comment(Service::find, s.grant)}, nullptr);
  }

  const auto cls = qr_class(req.AffectedSOPClassUID);
  auto request = parse_identifier(*identifier, cls.model, s.context.options.fallback_charset);
  if (!request) {
    const auto status = find_failure_status(request.error());
    CF_LOG(warn, "net",
           s.peer() << ": C-FIND refused (0x" << std::hex << status.code << std::dec
                    << "): " << request.error().message());
    return send(s, pres_id, req, status, nullptr);
  }
  request->combined_datetime = combined_datetime_agreed(s.assoc, req.AffectedSOPClassUID);
  request->relational = relational_agreed(s.assoc, req.AffectedSOPClassUID);

  auto result = s.context.query.find(*request);
  if (!result) {
    const auto status = find_failure_status(result.error());
    CF_LOG(warn, "net",
           s.peer() << ": C-FIND failed (0x" << std::hex << status.code << std::dec
                    << "): " << result.error().message());
    return send(s, pres_id, req, status, nullptr);
  }
  if (result->relaxed && !request->relational) {
    CF_LOG(debug, "net",
           s.peer() << ": C-FIND " << identifier_level_name(request->level)
                    << " without a unique key above the level: answered as a "
                       "relational query (PS3.4 C.4.1.2.2)");
  }

  std::string charset;
  if (const auto it = s.context.options.response_charsets.find(s.peer_ae);
      it != s.context.options.response_charsets.end()) {
    charset = it->second;
  }
  const DimseStatus pending{
      result->unsupported.empty() ? k_pending : k_pending_optional_keys_unsupported, ""};
  std::size_t sent = 0;
  for (const auto& match : result->matches) {
    // PS3.4 C.4.1.2.3: a C-CANCEL ends the matching with status FE00.
    if (DIMSE_checkForCancelRQ(s.assoc, pres_id, req.MessageID) == EC_Normal) {
      CF_LOG(info, "net",
             s.peer() << ": C-FIND cancelled after " << sent << " of " << result->matches.size()
                      << " matches");
      return send(s, pres_id, req, {k_cancelled, ""}, nullptr);
    }
    auto response = build_response(*identifier, match, s.context.options.ae_title);
    if (!encode_response(*response, charset)) {
      CF_LOG(debug, "net",
             s.peer() << ": a match cannot be encoded in " << charset << "; sent as UTF-8");
    }
    if (!send(s, pres_id, req, pending, response.get())) {
      return false;
    }
    ++sent;
  }
  CF_LOG(info, "net",
         s.peer() << ": C-FIND " << identifier_level_name(request->level) << ": " << sent
                  << " matches");
  return send(s, pres_id, req, {0x0000, ""}, nullptr);
}

} // namespace net::internal
