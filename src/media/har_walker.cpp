// SPDX-License-Identifier: GPL-3.0-or-later
#include "har_walker.hpp"

#include <core/base64.hpp>
#include <core/strings.hpp>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace media::har {

namespace {

// --- the SAX walk over the HAR (HAR 1.2: log.entries[]) --------------------

enum class Ctx {
  other,
  root,
  log,
  entries,
  entry,
  request,
  response,
  headers,
  header,
  content,
  websocket_messages,
  websocket_message,
};

class Walker : public nlohmann::json_sax<nlohmann::json>
{
public:
  explicit Walker(EntryHandler& importer) : m_importer(importer) {}

  bool saw_entries() const { return m_saw_entries; }
  long entries() const { return m_entry.number; }
  const std::string& error() const { return m_error; }

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t value) override
  {
    integer(static_cast<long>(value));
    return true;
  }
  bool number_unsigned(number_unsigned_t value) override
  {
    integer(static_cast<long>(value));
    return true;
  }
  bool number_float(number_float_t value, const string_t&) override
  {
    if (value >= 0 && value < 1e9) { // a status written as 200.0, say
      integer(static_cast<long>(value));
    }
    return true;
  }
  bool binary(binary_t&) override { return true; }

  bool string(string_t& value) override
  {
    if (m_stack.empty()) {
      return true;
    }
    const Frame& top = m_stack.back();
    switch (top.ctx) {
    case Ctx::request:
      if (top.key == "url") {
        m_entry.url = value;
      }
      break;
    case Ctx::header:
      if (top.key == "name") {
        m_header_name = value;
      } else if (top.key == "value") {
        m_header_value = value;
      }
      break;
    case Ctx::content:
      if (top.key == "text") {
        m_entry.text = std::move(value); // the one big string: taken, not copied
        m_entry.has_text = true;
      } else if (top.key == "encoding") {
        m_entry.encoding = value;
      } else if (top.key == "mimeType") {
        m_entry.mime_type = value;
      }
      break;
    case Ctx::websocket_message:
      if (top.key == "data") {
        m_ws_data = std::move(value);
      }
      break;
    default:
      break;
    }
    return true;
  }

  bool start_object(std::size_t) override
  {
    const Ctx ctx = child(false);
    m_stack.push_back({ctx, false, {}});
    if (ctx == Ctx::entry) {
      const long number = m_entry.number + 1;
      m_entry = Entry{};
      m_entry.number = number;
      m_ws_index = 0;
    } else if (ctx == Ctx::header) {
      m_header_name.clear();
      m_header_value.clear();
    } else if (ctx == Ctx::websocket_message) {
      m_ws_opcode = 0;
      m_ws_data.clear();
    }
    return true;
  }

  bool key(string_t& value) override
  {
    if (!m_stack.empty()) {
      m_stack.back().key = value;
    }
    return true;
  }

  bool end_object() override
  {
    const Ctx ctx = m_stack.empty() ? Ctx::other : m_stack.back().ctx;
    if (!m_stack.empty()) {
      m_stack.pop_back();
    }
    switch (ctx) {
    case Ctx::header:
      if (core::iequals_ascii(m_header_name, "content-type")) {
        m_entry.content_type = m_header_value;
      }
      break;
    case Ctx::websocket_message:
      m_importer.on_websocket(m_entry.number, ++m_ws_index, m_ws_opcode, m_ws_data);
      std::string().swap(m_ws_data);
      break;
    case Ctx::entry: {
      m_importer.on_entry(m_entry);
      const long number = m_entry.number;
      m_entry = Entry{}; // frees the body
      m_entry.number = number;
      break;
    }
    default:
      break;
    }
    return true;
  }

  bool start_array(std::size_t) override
  {
    const Ctx ctx = child(true);
    if (ctx == Ctx::entries) {
      m_saw_entries = true;
    }
    m_stack.push_back({ctx, true, {}});
    return true;
  }

  bool end_array() override
  {
    if (!m_stack.empty()) {
      m_stack.pop_back();
    }
    return true;
  }

  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception& ex) override
  {
    m_error = "at byte " + std::to_string(position) + ": " + ex.what();
    return false;
  }

private:
  struct Frame
  {
    Ctx ctx;
    bool array;
    std::string key; // the last key seen in this object
  };

  // The context of a value about to start, from where it sits.
  Ctx child(bool is_array) const
  {
    if (m_stack.empty()) {
      return is_array ? Ctx::other : Ctx::root;
    }
    const Frame& parent = m_stack.back();
    const std::string& k = parent.key;
    switch (parent.ctx) {
    case Ctx::root:
      return !is_array && k == "log" ? Ctx::log : Ctx::other;
    case Ctx::log:
      return is_array && k == "entries" ? Ctx::entries : Ctx::other;
    case Ctx::entries:
      return is_array ? Ctx::other : Ctx::entry;
    case Ctx::entry:
      if (!is_array && k == "request") {
        return Ctx::request;
      }
      if (!is_array && k == "response") {
        return Ctx::response;
      }
      if (is_array && k == "_webSocketMessages") {
        return Ctx::websocket_messages;
      }
      return Ctx::other;
    case Ctx::response:
      if (is_array && k == "headers") {
        return Ctx::headers;
      }
      return !is_array && k == "content" ? Ctx::content : Ctx::other;
    case Ctx::headers:
      return is_array ? Ctx::other : Ctx::header;
    case Ctx::websocket_messages:
      return is_array ? Ctx::other : Ctx::websocket_message;
    default:
      return Ctx::other;
    }
  }

  void integer(long value)
  {
    if (m_stack.empty()) {
      return;
    }
    const Frame& top = m_stack.back();
    if (top.ctx == Ctx::response && top.key == "status") {
      m_entry.status = value;
    } else if (top.ctx == Ctx::websocket_message && top.key == "opcode") {
      m_ws_opcode = value;
    }
  }

  EntryHandler& m_importer;
  std::vector<Frame> m_stack;
  Entry m_entry;
  std::string m_header_name;
  std::string m_header_value;
  long m_ws_opcode = 0;
  long m_ws_index = 0;
  std::string m_ws_data;
  bool m_saw_entries = false;
  std::string m_error;
};

} // namespace

WalkOutcome
walk_har(std::istream& in, EntryHandler& handler)
{
  Walker walker(handler);
  WalkOutcome out;
  out.parsed = nlohmann::json::sax_parse(in, &walker);
  out.entries = walker.entries();
  out.saw_entries = walker.saw_entries();
  out.error = walker.error();
  return out;
}

} // namespace media::har
