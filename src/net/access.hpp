// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <string>
#include <vector>

// Who may use which DIMSE service, decided per association from the calling
// AE title and the peer's address (like Orthanc's DicomAlwaysAllow* and its
// per-modality AllowEcho/Find/Get/Move/Store). DCMTK-free.
namespace net {

enum class Service : unsigned {
  echo = 1U << 0,
  store = 1U << 1,
  find = 1U << 2,
  get = 1U << 3,
  move = 1U << 4,
};

constexpr unsigned k_all_services = 0x1F;

// "C-ECHO", "C-STORE", ...
const char* service_name(Service service);

// A peer listed under `modalities`: its AE title, the IPv4 addresses it may
// come from (empty: any) and the services its entry allows.
struct ListedPeer
{
  std::string name;
  std::string ae_title;
  std::vector<std::string> hosts;
  unsigned services = k_all_services;
};

struct AccessPolicy
{
  bool trust_loopback = true;     // 127.0.0.0/8 may use every service
  bool store_from_anyone = false; // unlisted peers may also C-STORE
  std::vector<ListedPeer> peers;
};

// What one association may do, and why (for the log and error comments).
struct Grant
{
  unsigned services = 0;
  std::string basis; // "loopback", "modality 'horos'", "unlisted peer"

  bool allows(Service s) const { return (services & static_cast<unsigned>(s)) != 0; }
};

// The grant for a calling AE title from `host` (dotted IPv4). A listed
// peer's AE title must match exactly (PS3.8 7.1.1.3: AE titles are
// case-sensitive); when the entry names hosts, the address must be one of them.
Grant grant(const AccessPolicy& policy, const std::string& calling_ae, const std::string& host);

// True for 127.0.0.0/8.
bool is_loopback(const std::string& host);

// One line for the start-up log: who may do what.
std::string describe(const AccessPolicy& policy);

// "echo, find, get" for a service set.
std::string service_list(unsigned services);

// The Error Comment (0000,0902) for a refused request: LO, at most 64 characters.
std::string refusal_comment(Service service, const Grant& grant);

} // namespace net
