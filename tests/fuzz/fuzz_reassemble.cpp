// SPDX-License-Identifier: GPL-3.0-or-later
// (a) Hinacom GetImageDicomTags JSON + pixel body -> dicom::reassemble.
// Input: the JSON text, a NUL byte, then the pixel body (JP2, J2K or native).
#include "fuzz_common.hpp"

#include <dicom/reassemble.hpp>
#include <hinacom/manifest.hpp>

#include <cstring>

extern "C" int
LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  cf_fuzz::init();
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto nul = input.find('\0');
  const std::string json(input.substr(0, nul));
  const std::string_view pixels =
      nul == std::string_view::npos ? std::string_view{} : input.substr(nul + 1);

  auto tags = hinacom::parse_tags(json);
  if (!tags) {
    return 0;
  }
  const auto out = cf_fuzz::scratch() / "reassembled.dcm";
  if (auto r = dicom::reassemble(*tags, pixels, out); r) {
    // What reassemble writes must read back as an instance the index takes.
    auto info = dicom::read_instance_info(out);
    if (!info) {
      std::fprintf(stderr, "reassembled file does not read back: %s\n",
                   info.error().message().c_str());
      std::abort();
    }
  }
  std::error_code ec;
  std::filesystem::remove(out, ec);
  return 0;
}
