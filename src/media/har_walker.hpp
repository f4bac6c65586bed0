// SPDX-License-Identifier: GPL-3.0-or-later
// The SAX walk over a HAR file (HAR 1.2: log.entries[]): one Entry per
// response, Chrome's _webSocketMessages frame by frame, memory bounded by
// the largest single body.
#pragma once

#include <istream>
#include <string>

namespace media::har {

struct Entry
{
  long number = 0; // 1-based, for messages
  std::string url;
  long status = 0;
  std::string content_type; // response header
  std::string mime_type;    // response.content.mimeType
  std::string text;         // response.content.text
  bool has_text = false;
  std::string encoding; // response.content.encoding
};

class EntryHandler
{
public:
  virtual ~EntryHandler() = default;
  // `e` may be moved from.
  virtual void on_entry(Entry& e) = 0;
  // One WebSocket frame of entry `entry` (`index` 1-based).
  virtual void on_websocket(long entry, long index, long opcode, const std::string& data) = 0;
};

struct WalkOutcome
{
  bool parsed = false;      // the JSON parsed to its end
  long entries = 0;         // entries seen
  bool saw_entries = false; // log.entries was there: it is a HAR
  std::string error;        // where parsing stopped, when it did
};

WalkOutcome walk_har(std::istream& in, EntryHandler& handler);

} // namespace media::har
