// SPDX-License-Identifier: GPL-3.0-or-later
// (c) The HAR walker: the input is a HAR file given to media::import_har.
#include "fuzz_common.hpp"

#include <media/har_import.hpp>

extern "C" int
LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  cf_fuzz::init();
  static cf_fuzz::ReadingSink sink;
  const auto har = cf_fuzz::scratch() / "input.har";
  cf_fuzz::write_file(har, std::string_view(reinterpret_cast<const char*>(data), size));
  (void)media::import_har(har, sink);
  std::error_code ec;
  std::filesystem::remove(har, ec);
  return 0;
}
