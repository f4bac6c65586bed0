// SPDX-License-Identifier: GPL-3.0-or-later
#include "access.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>

namespace net {

const char*
service_name(Service service)
{
  switch (service) {
  case Service::echo:
    return "C-ECHO";
  case Service::store:
    return "C-STORE";
  case Service::find:
    return "C-FIND";
  case Service::get:
    return "C-GET";
  case Service::move:
    return "C-MOVE";
  }
  return "?";
}

bool
is_loopback(const std::string& host)
{
  in_addr addr{};
  if (::inet_pton(AF_INET, host.c_str(), &addr) != 1) {
    return false;
  }
  return (ntohl(addr.s_addr) >> 24) == 127;
}

Grant
grant(const AccessPolicy& policy, const std::string& calling_ae, const std::string& host)
{
  if (policy.trust_loopback && is_loopback(host)) {
    return {k_all_services, "loopback"};
  }
  for (const auto& p : policy.peers) {
    if (p.ae_title != calling_ae) {
      continue;
    }
    if (!p.hosts.empty() && std::find(p.hosts.begin(), p.hosts.end(), host) == p.hosts.end()) {
      continue;
    }
    return {p.services, "modality '" + p.name + "'"};
  }
  unsigned services = static_cast<unsigned>(Service::echo);
  if (policy.store_from_anyone) {
    services |= static_cast<unsigned>(Service::store);
  }
  return {services, "unlisted peer"};
}

std::string
service_list(unsigned services)
{
  static const std::pair<Service, const char*> k_names[] = {
      {Service::echo, "echo"}, {Service::store, "store"}, {Service::find, "find"},
      {Service::get, "get"},   {Service::move, "move"},
  };
  if (services == k_all_services) {
    return "all";
  }
  std::string out;
  for (const auto& [s, name] : k_names) {
    if ((services & static_cast<unsigned>(s)) != 0) {
      out += (out.empty() ? "" : ", ") + std::string(name);
    }
  }
  return out.empty() ? "nothing" : out;
}

std::string
describe(const AccessPolicy& policy)
{
  std::string out = policy.trust_loopback ? "loopback: all" : "loopback: as any peer";
  out += "; " + std::to_string(policy.peers.size()) + " listed peer"
         + (policy.peers.size() == 1 ? "" : "s");
  if (!policy.peers.empty()) {
    out += " (";
    bool first = true;
    for (const auto& p : policy.peers) {
      out += (first ? "" : "; ") + p.ae_title;
      if (!p.hosts.empty()) {
        out += "@" + p.hosts.front() + (p.hosts.size() > 1 ? "+" : "");
      }
      out += ": " + service_list(p.services);
      first = false;
    }
    out += ")";
  }
  out += "; others: ";
  out += policy.store_from_anyone ? "echo and store" : "echo only";
  return out;
}

std::string
refusal_comment(Service service, const Grant& grant)
{
  (void)grant;
  // Error Comment is LO: 64 characters at most.
  std::string c = std::string(service_name(service)) + " not allowed: add this AE under modalities";
  return c.substr(0, 64);
}

} // namespace net
