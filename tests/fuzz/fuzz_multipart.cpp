// SPDX-License-Identifier: GPL-3.0-or-later
// (d) multipart/related: http::boundary_of + split_multipart (WADO-RS),
// and the same message as a HAR response body (har_import's own multipart
// reader). Input: the Content-Type line, '\n', then the body.
#include "fuzz_common.hpp"

#include <core/base64.hpp>
#include <http/multipart.hpp>
#include <media/har_import.hpp>

#include <nlohmann/json.hpp>

extern "C" int
LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  cf_fuzz::init();
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto nl = input.find('\n');
  if (nl == std::string_view::npos) {
    return 0;
  }
  const std::string content_type(input.substr(0, nl));
  const std::string_view body = input.substr(nl + 1);

  const std::string boundary = http::boundary_of(content_type);
  {
    for (const auto& part : http::split_multipart(body, boundary).parts) {
      // Every part must lie inside the body it was cut from.
      if (!part.empty()
          && (part.data() < body.data() || part.data() + part.size() > body.data() + body.size())) {
        std::abort();
      }
    }
  }

  // The same message as a browser capture.
  nlohmann::json har = {
      {"log",
       {{"version", "1.2"},
        {"entries",
         {{{"request",
            {{"method", "GET"},
             {"url", "https://pacs.example/wado/studies/1/series/2/instances/3"}}},
           {"response",
            {{"status", 200},
             {"headers", {{{"name", "Content-Type"}, {"value", content_type}}}},
             {"content",
              {{"mimeType", content_type},
               {"encoding", "base64"},
               {"text", core::base64_encode(body)}}}}}}}}}}};
  std::string text;
  try {
    text = har.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } catch (...) {
    return 0;
  }
  static cf_fuzz::ReadingSink sink;
  const auto file = cf_fuzz::scratch() / "multipart.har";
  cf_fuzz::write_file(file, text);
  (void)media::import_har(file, sink);
  std::error_code ec;
  std::filesystem::remove(file, ec);
  return 0;
}
