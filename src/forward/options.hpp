// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <string>
#include <vector>

namespace forward {

// Where jobs can go (a configured modality).
struct Destination
{
  std::string name; // as configured, used in jobs and on the command line
  std::string ae_title;
  std::string host;
  int port = 104;
};

// Auto-forward rule: every newly stored instance that matches goes to
// `destination`. Empty conditions match anything.
struct Rule
{
  std::string destination;
  std::vector<std::string> sources;     // "dimse", "import", "source"
  std::vector<std::string> calling_aes; // calling AE title / module / import path
  std::vector<std::string> modalities;  // Modality (0008,0060)
};

struct RetryPolicy
{
  int max_attempts = 10;
  int initial_delay = 10; // seconds; doubles per attempt, +-20 % jitter
  int max_delay = 3600;
};

struct Options
{
  std::string our_ae_title = "CLOUDFILM";
  std::vector<Destination> destinations;
  std::vector<Rule> rules;
  RetryPolicy retry;
  int batch_delay = 5; // seconds a rule job waits for more instances of its study
  int acse_timeout = 30;
  int dimse_timeout = 60;
  int max_pdu = 65536;
};

} // namespace forward
