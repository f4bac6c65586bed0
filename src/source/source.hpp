// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "job.hpp"

#include <core/result.hpp>
#include <store/ingest.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace http {
class Client;
}

// A cloud viewer adapter ("source") downloads the study behind a share link
// and feeds every rebuilt instance through the store's one ingest path.
namespace source {

using Options = std::map<std::string, std::string>; // the module's config section

struct Request
{
  std::string url;       // the share link as the user pasted it
  std::string password;  // empty if the viewer needs none
  bool raw = false;      // prefer native pixels over JPEG 2000 (Hinacom)
  std::string study_uid; // DICOMweb: the study to fetch
};

// Why a fetch failed, for one clear line (platforms.md 8.2).
enum class Errc {
  unsupported_url = 1, // no module accepts the URL
  bad_request,         // the URL lacks something the platform needs
  auth_rejected,       // wrong password / code
  link_expired,        // share cancelled, expired or unknown
  upstream_changed,    // the page or API no longer looks as expected
  cancelled,
};

const std::error_category& error_category();
std::error_code make_error_code(Errc e);

class Source
{
public:
  virtual ~Source() = default;

  // Download the study behind `request`, rebuild each instance as a Part 10
  // file in `sink.spool_path()`, hand it to `out` (which ingests it), and
  // skip instances `sink.contains()` already (resume). Runs on the caller's
  // thread; may use `client` from several threads. Errors: source::Errc,
  // http::Errc.
  virtual core::Result<void> fetch(const Request& request, store::IngestSink& sink,
                                   http::Client& client, Job& job) = 0;
};

// One supported platform: the registry is an explicit table
// (modules/register.cpp), not self-registering statics.
struct Platform
{
  std::string name;
  std::string url_forms;                               // for --list-platforms and the README
  std::function<bool(const std::string& url)> accepts; // must not touch the network
  std::function<std::unique_ptr<Source>(const Options&)> make;
};

// Both defined with the table in modules/register.cpp.
const std::vector<Platform>& platforms();
// The platform for `url`, or nullptr.
const Platform* find_platform(const std::string& url);

} // namespace source

template <> struct std::is_error_code_enum<source::Errc> : std::true_type
{
};
