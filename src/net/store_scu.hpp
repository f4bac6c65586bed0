// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <core/result.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

// C-STORE SCU (PS3.4 B.2) towards another node: C-MOVE sub-operations now,
// forwarding later. Sends the stored transfer syntax when the peer accepts
// it, else converts losslessly (dicom::choose_transfer_syntax). Not
// thread-safe: one object per association.
namespace net {

struct StoreTarget
{
  std::string our_ae_title;
  std::string ae_title;
  std::string host;
  int port = 104;
  int acse_timeout = 30;
  int dimse_timeout = 60;
  int max_pdu = 65536;
};

struct SendItem
{
  std::string sop_class_uid;
  std::string sop_instance_uid;
  std::string transfer_syntax_uid; // as stored
  std::filesystem::path file;
};

struct SendResult
{
  std::uint16_t status = 0;        // the peer's C-STORE response status
  std::string transfer_syntax_uid; // what was sent
};

class StoreScu
{
public:
  explicit StoreScu(const StoreTarget& target);
  ~StoreScu();
  StoreScu(const StoreScu&) = delete;
  StoreScu& operator=(const StoreScu&) = delete;

  // Split `items` into groups that each fit one association's 128
  // presentation contexts (PS3.8 9.3.2.2: context IDs are odd bytes).
  static std::vector<std::vector<SendItem>> batches(const std::vector<SendItem>& items);

  // Associate, proposing for each SOP class of `items` its stored transfer
  // syntaxes plus an uncompressed fallback. Errors: connection refused or
  // association rejected (detail names the peer).
  core::Result<void> open(const std::vector<SendItem>& items);

  // Send one instance. An error means nothing was stored (network failure,
  // no acceptable context, cannot transcode); the peer's failure statuses
  // come back as a SendResult.
  core::Result<SendResult> send(const SendItem& item, const std::string& move_originator_ae = "",
                                std::uint16_t move_originator_message_id = 0);

  bool connected() const;

  // A-RELEASE (or abort if the release fails).
  void close();

private:
  class Impl;
  std::unique_ptr<Impl> m_impl;
};

} // namespace net
