// SPDX-License-Identifier: GPL-3.0-or-later
#include "jpeg2000_stream.hpp"

#include <cstdint>
#include <cstring>

namespace dicom {

namespace {

// The JP2 signature box (ISO/IEC 15444-1 I.5.1). PS3.5 A.4.4 wants a bare
// codestream, but some encoders wrap it in a JP2 file anyway.
constexpr unsigned char k_jp2_signature[] = {0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50,
                                             0x20, 0x20, 0x0D, 0x0A, 0x87, 0x0A};
// SOC followed by SIZ: how every codestream starts (ISO/IEC 15444-1 A.4.1, A.5.1).
constexpr unsigned char k_soc_siz[] = {0xFF, 0x4F, 0xFF, 0x51};

bool
starts_with(std::string_view data, const unsigned char* prefix, std::size_t n)
{
  return data.size() >= n && std::memcmp(data.data(), prefix, n) == 0;
}

std::uint32_t
be32(const unsigned char* p)
{
  return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | p[3];
}

} // namespace

bool
is_jp2_file(std::string_view data)
{
  return starts_with(data, k_jp2_signature, sizeof k_jp2_signature);
}

bool
is_j2k_codestream(std::string_view data)
{
  return starts_with(data, k_soc_siz, sizeof k_soc_siz);
}

std::string_view
jpeg2000_codestream(std::string_view data)
{
  if (is_j2k_codestream(data)) {
    return data;
  }
  if (!is_jp2_file(data)) {
    return {};
  }
  // Top-level boxes (ISO/IEC 15444-1 I.4): LBox(4) TBox(4) [XLBox(8)] data.
  // LBox 1: the 64-bit XLBox holds the length; LBox 0: the box runs to the
  // end of the data.
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  std::uint64_t pos = 0;
  while (pos + 8 <= data.size()) {
    std::uint64_t length = be32(p + pos);
    const std::uint32_t type = be32(p + pos + 4);
    std::uint64_t header = 8;
    if (length == 1) {
      if (pos + 16 > data.size()) {
        return {};
      }
      length = std::uint64_t{be32(p + pos + 8)} << 32 | be32(p + pos + 12);
      header = 16;
    } else if (length == 0) {
      length = data.size() - pos;
    }
    if (length < header || length > data.size() - pos) {
      return {};
    }
    if (type == 0x6A703263 /* 'jp2c' */) {
      const auto payload = data.substr(static_cast<std::size_t>(pos + header),
                                       static_cast<std::size_t>(length - header));
      return is_j2k_codestream(payload) ? payload : std::string_view{};
    }
    pos += length;
  }
  return {};
}

} // namespace dicom
