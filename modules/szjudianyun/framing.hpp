// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <core/result.hpp>

#include <string>
#include <vector>

// The socket.io 2.x / Engine.IO v3 pieces szjudianyun speaks (platforms.md
// 3.7), without the network: handshake payload, event frames, the study info.
namespace szjudianyun {

// Separator the platform puts between ids and between tags.
inline constexpr const char* k_separator = "b1u2d3d4h5a";

struct ShareParams
{
  std::string hospital_id; // a
  std::string study;       // b
  std::string password;    // c
};

// a, b, c of the share link. Errors: source::Errc::bad_request.
core::Result<ShareParams> parse_share_url(const std::string& url);

struct Handshake
{
  std::string sid;
  long ping_interval_ms = 25000;
  long ping_timeout_ms = 60000;
};

// The polling answer `<len>:0{"sid":...}2:40`: the JSON between the first
// '{' and the last '}'. Errors: source::Errc::upstream_changed.
core::Result<Handshake> parse_handshake(const std::string& body);

// What a text frame is (Engine.IO v3 packet type, socket.io packet type).
enum class Frame {
  open,         // 0
  close,        // 1
  ping,         // 2
  pong,         // 3 (also "3probe")
  upgrade,      // 5
  noop,         // 6
  event,        // 42[...]
  binary_event, // 45N-[...]: header of a binary attachment
  disconnect,   // 41
  error,        // 44
  other,
};
Frame classify(const std::string& text);

// `42["sendMessage",<object>]`; `object_json` is the serialised argument.
std::string send_message(const std::string& object_json);

// The JSON array of an event frame (`42[...]`, an optional namespace or ack
// id tolerated). Errors: source::Errc::upstream_changed.
core::Result<std::string> event_payload(const std::string& text);

// The binary attachment without its Engine.IO v3 0x04 marker (kept as is
// when absent: Engine.IO v4 servers send raw binary).
std::string strip_binary_marker(std::string payload);

struct SeriesEntry
{
  std::string id;
  long count = 0;
};

struct StudyInfo
{
  std::string hospital_id; // from "hosipital" (sic), used from now on
  std::string study;
  std::vector<SeriesEntry> series; // DICOM series, listing order
  std::vector<SeriesEntry> junk;   // "dfyfilm..." film sheets, not DICOM
};

// Sanity caps on series_dicom_number: a series or study claiming more is
// upstream_changed, not a work list of that size.
constexpr long k_max_series_instances = 100000;
constexpr long k_max_study_instances = 1000000;

// The answer to saveC: the event frame's element [1]. Errors:
// source::Errc::auth_rejected for {"error": "...password..."},
// link_expired for another error, upstream_changed for anything unexpected
// (also a count over the caps above).
core::Result<StudyInfo> parse_study_info(const std::string& event_frame);

// The 27 tags of the hangC request, "0x00100010b1u2d3d4h5a0x...".
std::string tag_list();

// The two request objects, keys in the platform's order.
std::string save_request(const ShareParams& share);
std::string fetch_request(const StudyInfo& info, const std::string& series, long index_1based);

} // namespace szjudianyun
