// SPDX-License-Identifier: GPL-3.0-or-later
// One HTTP request and its answer in plain types, so that the routes never
// see Beast (which stays in server.cpp: it is heavy to compile).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace web {

class EventHub;

struct Request
{
  std::string method;                         // "GET", "POST", ...
  std::string target;                         // as received: path and query
  std::string path;                           // percent-decoded, without the query
  std::map<std::string, std::string> query;   // decoded; the last of repeated names
  std::map<std::string, std::string> headers; // names in lower case
  std::string body;                           // small bodies (JSON)
  std::filesystem::path body_file;            // uploads: the body in the spool
  std::uint64_t body_size = 0;
  std::string remote; // peer address
  std::string user;   // set by the auth check; empty when auth is off

  const std::string& header(const std::string& lower_name) const;
  const std::string& param(const std::string& name) const;
};

// Feeds a streamed body (a zip) from the thread that makes it. write()
// blocks while the connection is behind (bounded memory) and returns false
// once the client has gone, so the producer stops.
class BodyWriter
{
public:
  virtual ~BodyWriter() = default;
  virtual bool write(std::string data) = 0;
};

struct Response
{
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string content_type = "application/json; charset=utf-8";
  // Instead of `body`: a file sent as it is (never loaded whole) ...
  std::filesystem::path file;
  // ... or a body made on its own thread, sent chunked ...
  std::function<void(BodyWriter&)> stream;
  // ... or an event stream (SSE) from the hub, replaying after this id.
  EventHub* events = nullptr;
  std::uint64_t last_event_id = 0;

  void set(std::string name, std::string value);
};

// {"error": {"code": code, "message": message}} with `status`.
Response error_response(int status, const std::string& code, const std::string& message);
Response json_response(int status, std::string json);

// RFC 3986 percent-decoding; `plus_is_space` for query strings. False for a
// malformed escape or a NUL byte.
bool percent_decode(const std::string& in, std::string& out, bool plus_is_space);

// Split `target` into the decoded path and query; false if malformed.
bool parse_target(const std::string& target, std::string& path,
                  std::map<std::string, std::string>& query);

// A DICOM UID as PS3.5 9.1 allows: digits and dots, 1..64 characters.
bool is_uid(const std::string& text);

} // namespace web
