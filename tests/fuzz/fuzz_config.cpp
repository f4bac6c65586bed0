// SPDX-License-Identifier: GPL-3.0-or-later
// (h) The configuration YAML: config::parse, then validate(). Only
// ConfigError may come out.
#include "fuzz_common.hpp"

#include <config/config.hpp>

extern "C" int
LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  cf_fuzz::init();
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const auto c = config::parse(text);
    config::validate(c);
  } catch (const config::ConfigError&) {
  }
  return 0;
}
