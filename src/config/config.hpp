// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

// The node's configuration as plain structs with in-class defaults: the
// embedded default is `Config{}`. Built once by load(), then passed by const&.
namespace config {

// Thrown by load() and validate(): what() is one line naming the key.
class ConfigError : public std::runtime_error
{
public:
  using std::runtime_error::runtime_error;
};

// A calling AE title and/or host allowed to associate. Empty field = any.
struct Peer
{
  std::string ae_title;
  std::string host;
};

// A remote DICOM node: a peer that may use our services (`allow`), and,
// when it has a host and port, a C-MOVE destination and forwarding target.
struct Modality
{
  std::string ae_title;
  std::string host; // IPv4 address or name; empty: the AE title from any address
  int port = 0;     // 0: not reachable (a viewer that only queries and C-GETs)
  // Services it may use: echo, store, find, get, move (default: all).
  std::vector<std::string> allow{"echo", "store", "find", "get", "move"};

  bool reachable() const { return !host.empty() && port != 0; }
};

struct Node
{
  std::string ae_title = "CLOUDFILM";
  std::string bind = "0.0.0.0"; // IPv4 address; DCMTK 3.6.7 is IPv4 only
  int port = 11112;
  int max_associations = 16;
  int max_pdu = 65536;       // announced maximum PDU length, PS3.8 D.1
  int acse_timeout = 30;     // seconds, reading the A-ASSOCIATE-RQ and release
  int first_pdu_timeout = 5; // seconds a new connection has to send its whole request
  int dimse_timeout = 60;    // seconds, inside one DIMSE message
  int idle_timeout = 300;    // seconds without a command before we abort
  int shutdown_grace = 30;   // seconds running associations get on SIGTERM
  bool check_called_ae = false;
  // Non-empty: only these peers may associate at all (A-ASSOCIATE-RJ for others).
  std::vector<Peer> allowed_peers;
  // Who may use which service: loopback peers everything (when trusted),
  // peers listed under `modalities` what their `allow` says, anyone else
  // C-ECHO only, plus C-STORE when accept_store_from_anyone.
  bool trust_loopback = true;
  bool accept_store_from_anyone = false;
  // Non-zero: a C-MOVE whose destination is the calling AE title itself and
  // not a configured modality goes to the caller's address on this port.
  // Off by default: it sends images to wherever the request came from.
  int move_to_unknown_caller = 0;
  // C-FIND responses go out in UTF-8 (ISO_IR 192) unless the calling AE
  // title is listed here with another SpecificCharacterSet (e.g. GB18030).
  std::map<std::string, std::string> response_charsets;
};

enum class DuplicatePolicy { keep_first, replace, reject };

struct Storage
{
  std::filesystem::path path = "cloudfilm-data";
  DuplicatePolicy duplicates = DuplicatePolicy::keep_first;
  // Limits (0: none) and what happens when one is reached: refuse new
  // instances (A700) or recycle the least recently stored unprotected study.
  long max_size_mb = 0;
  long max_studies = 0;
  bool recycle = false;   // when_full: recycle | refuse
  long min_free_mb = 256; // always refuse before the disk has less free
  // Assumed for text without a (usable) SpecificCharacterSet that is not UTF-8.
  std::string fallback_charset = "GB18030";
  // fsync before acknowledging (survives power loss); false: survives a
  // process crash only, faster on slow disks.
  bool fsync = true;
};

// Auto-forwarding: instances stored from now on that match go to `to`
// (a modality name). Empty lists match anything.
struct ForwardRule
{
  std::string to;
  std::vector<std::string> sources;     // dimse, import, source
  std::vector<std::string> calling_aes; // calling AE title (dimse), module, import path
  std::vector<std::string> modalities;
};

struct Forward
{
  std::vector<ForwardRule> rules;
  int max_attempts = 10;
  int initial_delay = 10; // seconds, doubling per attempt
  int max_delay = 3600;
  int batch_delay = 5; // seconds a rule job waits for more of its study
};

// Cloud-film downloads (`cloudfilm fetch`).
struct Fetch
{
  int max_per_host = 4;             // requests in flight per host (be polite)
  int retries = 4;                  // extra tries of a failed request
  int timeout = 300;                // seconds per request try
  int idle_timeout = 30;            // seconds without a byte: stalled
  std::string proxy;                // "" = the http_proxy/https_proxy environment
  std::vector<std::string> resolve; // "host:port:address" (tests, split DNS)
  // Per-module settings (module name -> key -> value), e.g. hinacom.keepalive.
  std::map<std::string, std::map<std::string, std::string>> modules;
};

// The HTTP side of `serve`: REST API, page, events (docs/api.md).
struct Http
{
  bool enabled = true;
  std::string bind = "127.0.0.1"; // IPv4 or IPv6 address
  int port = 8080;
  long max_upload_mb = 4096; // one upload body, streamed to the spool
  // Extra names the Host header may carry (besides localhost, 127.0.0.1,
  // [::1] and the bind address): DNS-rebinding defence (WEB.md 6.2).
  std::vector<std::string> hosts;
  // Accounts: user name -> "pbkdf2-sha256$<iterations>$<salt b64>$<hash b64>"
  // (`cloudfilm hash-password`). API tokens: "sha256:<hex of the token>".
  // A bind other than loopback refuses to start while both are empty.
  std::map<std::string, std::string> users;
  std::vector<std::string> tokens;
  int max_fetch_jobs = 2; // fetch jobs running at once; more wait queued
  // The OHIF viewer's folder (scripts/fetch-viewer.sh); "": `ohif` beside the
  // binary, else /usr/share/cloudfilm/ohif, else no viewer.
  std::string viewer_dir;
  int session_hours = 12;
};

struct Log
{
  std::string level = "info";
  std::string dcmtk_level = "warn";
};

struct Config
{
  Node node;
  Storage storage;
  std::map<std::string, Modality> modalities; // name -> modality
  Forward forward;
  Fetch fetch;
  Http http;
  Log log;
};

// True for 127.0.0.0/8, ::1 and "localhost".
bool is_loopback_address(const std::string& address);

// Parse YAML text. Unknown keys, wrong types and out-of-range values throw
// ConfigError naming the key.
Config parse(const std::string& yaml_text);

// Read and parse `file`.
Config load(const std::filesystem::path& file);

// Check cross-field rules; throws ConfigError.
void validate(const Config& config);

std::string to_string(DuplicatePolicy policy);

} // namespace config
