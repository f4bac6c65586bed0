// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <set>
#include <sstream>

namespace config {

namespace {

[[noreturn]] void
fail(const std::string& key, const std::string& problem)
{
  throw ConfigError(key + ": " + problem);
}

void
reject_unknown(const YAML::Node& map, const std::string& prefix, const std::set<std::string>& known)
{
  if (!map.IsMap()) {
    fail(prefix.empty() ? "(top level)" : prefix, "expected a mapping");
  }
  for (const auto& kv : map) {
    const auto key = kv.first.as<std::string>();
    if (known.count(key) == 0) {
      fail(prefix.empty() ? key : prefix + "." + key, "unknown key");
    }
  }
}

std::string
get_string(const YAML::Node& node, const std::string& key)
{
  if (!node.IsScalar()) {
    fail(key, "expected a string");
  }
  return node.Scalar();
}

int
get_int(const YAML::Node& node, const std::string& key, long min, long max)
{
  if (!node.IsScalar()) {
    fail(key, "expected an integer");
  }
  const auto& text = node.Scalar();
  std::size_t pos = 0;
  long value = 0;
  try {
    value = std::stol(text, &pos);
  } catch (const std::exception&) {
    fail(key, "'" + text + "' is not an integer");
  }
  if (pos != text.size()) {
    fail(key, "'" + text + "' is not an integer");
  }
  if (value < min || value > max) {
    fail(key, std::to_string(value) + " is out of range [" + std::to_string(min) + ", "
                  + std::to_string(max) + "]");
  }
  return static_cast<int>(value);
}

bool
get_bool(const YAML::Node& node, const std::string& key)
{
  bool value = false;
  if (!node.IsScalar() || !YAML::convert<bool>::decode(node, value)) {
    fail(key, "expected true or false");
  }
  return value;
}

// PS3.5 6.2: AE is 1-16 characters of the default repertoire, no backslash or
// control characters; leading/trailing spaces are insignificant.
void
check_ae_title(const std::string& ae, const std::string& key)
{
  if (ae.empty() || ae.size() > 16) {
    fail(key, "AE title must be 1 to 16 characters");
  }
  for (const unsigned char c : ae) {
    if (c < 0x20 || c >= 0x7F || c == '\\') {
      fail(key, "AE title has a character outside the DICOM default repertoire");
    }
  }
  if (ae.find_first_not_of(' ') == std::string::npos) {
    fail(key, "AE title must not be only spaces");
  }
}

void
check_ip_address(const std::string& host, const std::string& key)
{
  in_addr a4{};
  in6_addr a6{};
  if (::inet_pton(AF_INET, host.c_str(), &a4) != 1
      && ::inet_pton(AF_INET6, host.c_str(), &a6) != 1) {
    fail(key, "'" + host + "' is not an IPv4 or IPv6 address");
  }
}

void
check_ipv4(const std::string& host, const std::string& key)
{
  int parts = 0;
  std::stringstream ss(host);
  std::string part;
  while (std::getline(ss, part, '.')) {
    if (part.empty() || part.size() > 3 || part.find_first_not_of("0123456789") != std::string::npos
        || std::stoi(part) > 255) {
      fail(key, "'" + host + "' is not an IPv4 address");
    }
    ++parts;
  }
  if (parts != 4 || host.back() == '.') {
    fail(key, "'" + host + "' is not an IPv4 address");
  }
}

void
parse_node(const YAML::Node& n, Node& out)
{
  reject_unknown(n, "node",
                 {"ae_title", "bind", "port", "max_associations", "max_pdu", "acse_timeout",
                  "first_pdu_timeout", "dimse_timeout", "idle_timeout", "shutdown_grace",
                  "check_called_ae", "allowed_peers", "trust_loopback", "accept_store_from_anyone",
                  "move_to_unknown_caller", "response_charsets"});
  if (n["ae_title"]) {
    out.ae_title = get_string(n["ae_title"], "node.ae_title");
  }
  if (n["bind"]) {
    out.bind = get_string(n["bind"], "node.bind");
  }
  if (n["port"]) {
    out.port = get_int(n["port"], "node.port", 1, 65535);
  }
  if (n["max_associations"]) {
    out.max_associations = get_int(n["max_associations"], "node.max_associations", 1, 1024);
  }
  if (n["max_pdu"]) {
    // PS3.8 D.1: DCMTK sends at most 131072-byte PDUs and needs >= 4096.
    out.max_pdu = get_int(n["max_pdu"], "node.max_pdu", 4096, 131072);
  }
  if (n["acse_timeout"]) {
    out.acse_timeout = get_int(n["acse_timeout"], "node.acse_timeout", 1, 3600);
  }
  if (n["first_pdu_timeout"]) {
    out.first_pdu_timeout = get_int(n["first_pdu_timeout"], "node.first_pdu_timeout", 1, 300);
  }
  if (n["trust_loopback"]) {
    out.trust_loopback = get_bool(n["trust_loopback"], "node.trust_loopback");
  }
  if (n["accept_store_from_anyone"]) {
    out.accept_store_from_anyone =
        get_bool(n["accept_store_from_anyone"], "node.accept_store_from_anyone");
  }
  if (n["move_to_unknown_caller"]) {
    out.move_to_unknown_caller =
        get_int(n["move_to_unknown_caller"], "node.move_to_unknown_caller", 0, 65535);
  }
  if (n["dimse_timeout"]) {
    out.dimse_timeout = get_int(n["dimse_timeout"], "node.dimse_timeout", 1, 86400);
  }
  if (n["idle_timeout"]) {
    out.idle_timeout = get_int(n["idle_timeout"], "node.idle_timeout", 1, 86400);
  }
  if (n["shutdown_grace"]) {
    out.shutdown_grace = get_int(n["shutdown_grace"], "node.shutdown_grace", 0, 3600);
  }
  if (n["check_called_ae"]) {
    out.check_called_ae = get_bool(n["check_called_ae"], "node.check_called_ae");
  }
  if (const auto charsets = n["response_charsets"]) {
    if (!charsets.IsMap() && !charsets.IsNull()) {
      fail("node.response_charsets", "expected a mapping of AE title to SpecificCharacterSet");
    }
    static const std::set<std::string> k_supported{"ISO_IR 192", "GB18030", "GBK", "ISO_IR 100"};
    for (const auto& kv : charsets) {
      const auto ae = kv.first.as<std::string>();
      const auto key = "node.response_charsets." + ae;
      check_ae_title(ae, key);
      const auto cs = get_string(kv.second, key);
      if (k_supported.count(cs) == 0) {
        fail(key, "'" + cs + "' is not one of ISO_IR 192, GB18030, GBK, ISO_IR 100");
      }
      out.response_charsets[ae] = cs;
    }
  }
  if (const auto peers = n["allowed_peers"]) {
    if (!peers.IsSequence() && !peers.IsNull()) {
      fail("node.allowed_peers", "expected a list of {ae, host}");
    }
    std::size_t i = 0;
    for (const auto& p : peers) {
      const auto key = "node.allowed_peers[" + std::to_string(i++) + "]";
      reject_unknown(p, key, {"ae", "host"});
      Peer peer;
      if (p["ae"]) {
        peer.ae_title = get_string(p["ae"], key + ".ae");
        check_ae_title(peer.ae_title, key + ".ae");
      }
      if (p["host"]) {
        peer.host = get_string(p["host"], key + ".host");
        check_ipv4(peer.host, key + ".host");
      }
      if (peer.ae_title.empty() && peer.host.empty()) {
        fail(key, "needs ae, host or both");
      }
      out.allowed_peers.push_back(peer);
    }
  }
}

void
parse_storage(const YAML::Node& n, Storage& out)
{
  reject_unknown(n, "storage",
                 {"path", "duplicates", "fallback_charset", "fsync", "max_size_mb", "max_studies",
                  "when_full", "min_free_mb"});
  if (n["max_size_mb"]) {
    out.max_size_mb = get_int(n["max_size_mb"], "storage.max_size_mb", 0, 1 << 30);
  }
  if (n["max_studies"]) {
    out.max_studies = get_int(n["max_studies"], "storage.max_studies", 0, 1 << 30);
  }
  if (n["min_free_mb"]) {
    out.min_free_mb = get_int(n["min_free_mb"], "storage.min_free_mb", 0, 1 << 30);
  }
  if (n["when_full"]) {
    const auto v = get_string(n["when_full"], "storage.when_full");
    if (v != "refuse" && v != "recycle") {
      fail("storage.when_full", "'" + v + "' is not one of refuse, recycle");
    }
    out.recycle = v == "recycle";
  }
  if (n["fsync"]) {
    out.fsync = get_bool(n["fsync"], "storage.fsync");
  }
  if (n["path"]) {
    out.path = get_string(n["path"], "storage.path");
    if (out.path.empty()) {
      fail("storage.path", "must not be empty");
    }
  }
  if (n["duplicates"]) {
    const auto v = get_string(n["duplicates"], "storage.duplicates");
    if (v == "keep_first") {
      out.duplicates = DuplicatePolicy::keep_first;
    } else if (v == "replace") {
      out.duplicates = DuplicatePolicy::replace;
    } else if (v == "reject") {
      out.duplicates = DuplicatePolicy::reject;
    } else {
      fail("storage.duplicates", "'" + v + "' is not one of keep_first, replace, reject");
    }
  }
  if (n["fallback_charset"]) {
    out.fallback_charset = get_string(n["fallback_charset"], "storage.fallback_charset");
  }
}

std::vector<std::string>
get_list(const YAML::Node& node, const std::string& key)
{
  std::vector<std::string> out;
  if (node.IsScalar()) {
    out.push_back(node.Scalar());
  } else if (node.IsSequence()) {
    for (const auto& v : node) {
      out.push_back(get_string(v, key));
    }
  } else if (!node.IsNull()) {
    fail(key, "expected a value or a list");
  }
  return out;
}

void
parse_modalities(const YAML::Node& n, std::map<std::string, Modality>& out)
{
  if (n.IsNull()) {
    return;
  }
  if (!n.IsMap()) {
    fail("modalities", "expected a mapping of name to {ae, host, port, allow}");
  }
  for (const auto& kv : n) {
    const auto name = kv.first.as<std::string>();
    const auto key = "modalities." + name;
    reject_unknown(kv.second, key, {"ae", "host", "port", "allow"});
    Modality m;
    if (!kv.second["ae"]) {
      fail(key + ".ae", "missing");
    }
    m.ae_title = get_string(kv.second["ae"], key + ".ae");
    check_ae_title(m.ae_title, key + ".ae");
    if (kv.second["host"]) {
      m.host = get_string(kv.second["host"], key + ".host");
      if (m.host.empty()) {
        fail(key + ".host", "must not be empty (leave the key out to allow any address)");
      }
    }
    if (kv.second["port"]) {
      m.port = get_int(kv.second["port"], key + ".port", 1, 65535);
      if (m.host.empty()) {
        fail(key + ".host", "missing: a port needs the host it is on");
      }
    }
    if (kv.second["allow"]) {
      static const std::set<std::string> k_services{"echo", "store", "find", "get", "move"};
      m.allow = get_list(kv.second["allow"], key + ".allow");
      for (const auto& service : m.allow) {
        if (k_services.count(service) == 0) {
          fail(key + ".allow", "'" + service + "' is not one of echo, store, find, get, move");
        }
      }
    }
    out.emplace(name, m);
  }
}

void
parse_forward(const YAML::Node& n, Forward& out)
{
  reject_unknown(n, "forward", {"rules", "retry", "batch_delay"});
  if (const auto rules = n["rules"]) {
    if (!rules.IsSequence() && !rules.IsNull()) {
      fail("forward.rules", "expected a list of {to, source, calling_ae, modality}");
    }
    std::size_t i = 0;
    for (const auto& r : rules) {
      const auto key = "forward.rules[" + std::to_string(i++) + "]";
      reject_unknown(r, key, {"to", "source", "calling_ae", "modality"});
      ForwardRule rule;
      if (!r["to"]) {
        fail(key + ".to", "missing");
      }
      rule.to = get_string(r["to"], key + ".to");
      if (r["source"]) {
        rule.sources = get_list(r["source"], key + ".source");
        for (const auto& src : rule.sources) {
          if (src != "dimse" && src != "import" && src != "source") {
            fail(key + ".source", "'" + src + "' is not one of dimse, import, source");
          }
        }
      }
      if (r["calling_ae"]) {
        rule.calling_aes = get_list(r["calling_ae"], key + ".calling_ae");
      }
      if (r["modality"]) {
        rule.modalities = get_list(r["modality"], key + ".modality");
      }
      out.rules.push_back(rule);
    }
  }
  if (const auto retry = n["retry"]) {
    reject_unknown(retry, "forward.retry", {"max_attempts", "initial_delay", "max_delay"});
    if (retry["max_attempts"]) {
      out.max_attempts = get_int(retry["max_attempts"], "forward.retry.max_attempts", 1, 1000);
    }
    if (retry["initial_delay"]) {
      out.initial_delay = get_int(retry["initial_delay"], "forward.retry.initial_delay", 1, 86400);
    }
    if (retry["max_delay"]) {
      out.max_delay = get_int(retry["max_delay"], "forward.retry.max_delay", 1, 7 * 86400);
    }
  }
  if (n["batch_delay"]) {
    out.batch_delay = get_int(n["batch_delay"], "forward.batch_delay", 0, 3600);
  }
}

void
parse_fetch(const YAML::Node& n, Fetch& out)
{
  reject_unknown(
      n, "fetch",
      {"max_per_host", "retries", "timeout", "idle_timeout", "proxy", "resolve", "modules"});
  if (n["max_per_host"]) {
    out.max_per_host = get_int(n["max_per_host"], "fetch.max_per_host", 1, 64);
  }
  if (n["retries"]) {
    out.retries = get_int(n["retries"], "fetch.retries", 0, 100);
  }
  if (n["timeout"]) {
    out.timeout = get_int(n["timeout"], "fetch.timeout", 1, 86400);
  }
  if (n["idle_timeout"]) {
    out.idle_timeout = get_int(n["idle_timeout"], "fetch.idle_timeout", 1, 3600);
  }
  if (n["proxy"]) {
    out.proxy = get_string(n["proxy"], "fetch.proxy");
  }
  if (n["resolve"]) {
    out.resolve = get_list(n["resolve"], "fetch.resolve");
  }
  if (const auto modules = n["modules"]) {
    if (!modules.IsMap()) {
      fail("fetch.modules", "expected a mapping of module name to settings");
    }
    for (const auto& m : modules) {
      const auto name = m.first.as<std::string>();
      if (!m.second.IsMap()) {
        fail("fetch.modules." + name, "expected a mapping of settings");
      }
      for (const auto& kv : m.second) {
        const auto key = kv.first.as<std::string>();
        out.modules[name][key] = get_string(kv.second, "fetch.modules." + name + "." + key);
      }
    }
  }
}

void
parse_http(const YAML::Node& n, Http& out)
{
  reject_unknown(n, "http",
                 {"enabled", "bind", "port", "max_upload_mb", "hosts", "users", "tokens",
                  "max_fetch_jobs", "session_hours", "viewer_dir"});
  if (n["enabled"]) {
    out.enabled = get_bool(n["enabled"], "http.enabled");
  }
  if (n["bind"]) {
    out.bind = get_string(n["bind"], "http.bind");
  }
  if (n["port"]) {
    out.port = get_int(n["port"], "http.port", 1, 65535);
  }
  if (n["max_upload_mb"]) {
    out.max_upload_mb = get_int(n["max_upload_mb"], "http.max_upload_mb", 1, 1 << 20);
  }
  if (n["hosts"]) {
    out.hosts = get_list(n["hosts"], "http.hosts");
  }
  if (const auto users = n["users"]) {
    if (!users.IsMap()) {
      fail("http.users", "expected a mapping of user name to password hash");
    }
    for (const auto& u : users) {
      const auto name = u.first.as<std::string>();
      const auto hash = get_string(u.second, "http.users." + name);
      if (hash.rfind("pbkdf2-sha256$", 0) != 0) {
        fail("http.users." + name,
             "expected a hash from 'cloudfilm hash-password' (pbkdf2-sha256$...), "
             "never a plain password");
      }
      out.users[name] = hash;
    }
  }
  if (n["tokens"]) {
    out.tokens = get_list(n["tokens"], "http.tokens");
    for (const auto& t : out.tokens) {
      if (t.rfind("sha256:", 0) != 0 || t.size() != 7 + 64) {
        fail("http.tokens", "expected 'sha256:' and 64 hex digits (cloudfilm hash-password "
                            "--token), never a plain token");
      }
    }
  }
  if (n["max_fetch_jobs"]) {
    out.max_fetch_jobs = get_int(n["max_fetch_jobs"], "http.max_fetch_jobs", 1, 16);
  }
  if (n["viewer_dir"]) {
    out.viewer_dir = get_string(n["viewer_dir"], "http.viewer_dir");
  }
  if (n["session_hours"]) {
    out.session_hours = get_int(n["session_hours"], "http.session_hours", 1, 24 * 30);
  }
}

void
parse_log(const YAML::Node& n, Log& out)
{
  reject_unknown(n, "log", {"level", "dcmtk_level"});
  static const std::set<std::string> k_levels{"trace", "debug", "info", "warn", "error", "off"};
  if (n["level"]) {
    out.level = get_string(n["level"], "log.level");
    if (k_levels.count(out.level) == 0) {
      fail("log.level", "'" + out.level + "' is not one of trace, debug, info, warn, error, off");
    }
  }
  if (n["dcmtk_level"]) {
    out.dcmtk_level = get_string(n["dcmtk_level"], "log.dcmtk_level");
    if (k_levels.count(out.dcmtk_level) == 0) {
      fail("log.dcmtk_level",
           "'" + out.dcmtk_level + "' is not one of trace, debug, info, warn, error, off");
    }
  }
}

} // namespace

Config
parse(const std::string& yaml_text)
{
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::ParserException& e) {
    throw ConfigError("(yaml) line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  Config config;
  if (root.IsNull()) {
    return config;
  }
  try {
    reject_unknown(root, "", {"node", "storage", "modalities", "forward", "fetch", "http", "log"});
    if (root["node"]) {
      parse_node(root["node"], config.node);
    }
    if (root["storage"]) {
      parse_storage(root["storage"], config.storage);
    }
    if (root["modalities"]) {
      parse_modalities(root["modalities"], config.modalities);
    }
    if (root["forward"]) {
      parse_forward(root["forward"], config.forward);
    }
    if (root["fetch"]) {
      parse_fetch(root["fetch"], config.fetch);
    }
    if (root["http"]) {
      parse_http(root["http"], config.http);
    }
    if (root["log"]) {
      parse_log(root["log"], config.log);
    }
  } catch (const YAML::Exception& e) {
    throw ConfigError("(yaml) " + e.msg);
  }
  validate(config);
  return config;
}

Config
load(const std::filesystem::path& file)
{
  std::ifstream in(file);
  if (!in) {
    throw ConfigError(file.string() + ": cannot read the configuration file");
  }
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    return parse(ss.str());
  } catch (const ConfigError& e) {
    throw ConfigError(file.string() + ": " + e.what());
  }
}

void
validate(const Config& config)
{
  check_ae_title(config.node.ae_title, "node.ae_title");
  check_ipv4(config.node.bind, "node.bind");
  if (config.node.max_pdu % 2 != 0) {
    fail("node.max_pdu", "must be even");
  }
  for (std::size_t i = 0; i < config.forward.rules.size(); ++i) {
    const auto& to = config.forward.rules[i].to;
    const auto it = config.modalities.find(to);
    if (it == config.modalities.end()) {
      fail("forward.rules[" + std::to_string(i) + "].to",
           "'" + to + "' is not a configured modality");
    }
    if (!it->second.reachable()) {
      fail("forward.rules[" + std::to_string(i) + "].to",
           "modality '" + to + "' has no host and port to send to");
    }
  }
  if (config.http.enabled) {
    check_ip_address(config.http.bind, "http.bind");
    // WEB.md 6.3: a node reachable from elsewhere never answers without auth.
    if (!is_loopback_address(config.http.bind) && config.http.users.empty()
        && config.http.tokens.empty()) {
      fail("http.bind", "'" + config.http.bind
                            + "' is not loopback: configure http.users or http.tokens first "
                              "(cloudfilm hash-password), or bind 127.0.0.1");
    }
  }
  std::set<std::string> aes;
  for (const auto& [name, m] : config.modalities) {
    if (!aes.insert(m.ae_title).second) {
      fail("modalities." + name + ".ae", "AE title '" + m.ae_title + "' is used twice");
    }
  }
}

bool
is_loopback_address(const std::string& address)
{
  if (address == "localhost" || address == "::1" || address == "[::1]") {
    return true;
  }
  in_addr a{};
  return ::inet_pton(AF_INET, address.c_str(), &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

std::string
to_string(DuplicatePolicy policy)
{
  switch (policy) {
  case DuplicatePolicy::keep_first:
    return "keep_first";
  case DuplicatePolicy::replace:
    return "replace";
  case DuplicatePolicy::reject:
    return "reject";
  }
  return "?";
}

} // namespace config
