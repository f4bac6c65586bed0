// SPDX-License-Identifier: GPL-3.0-or-later
// dicom/jpeg2000_stream: JP2 file vs bare codestream, the jp2c box walk on
// hostile input.
#include <dicom/jpeg2000_stream.hpp>

#include <doctest/doctest.h>

#include <string>

namespace {

const std::string k_signature("\x00\x00\x00\x0C\x6A\x50\x20\x20\x0D\x0A\x87\x0A", 12);
const std::string k_codestream("\xFF\x4F\xFF\x51\x00\x29rest-of-codestream", 24);

std::string
box(const std::string& type, const std::string& payload)
{
  const auto n = static_cast<std::uint32_t>(8 + payload.size());
  std::string out;
  out += static_cast<char>(n >> 24);
  out += static_cast<char>(n >> 16);
  out += static_cast<char>(n >> 8);
  out += static_cast<char>(n);
  return out + type + payload;
}

} // namespace

TEST_SUITE("dicom::jpeg2000_stream")
{
  TEST_CASE("a bare codestream is itself; a JP2 file yields its jp2c box")
  {
    CHECK(dicom::is_j2k_codestream(k_codestream));
    CHECK_FALSE(dicom::is_jp2_file(k_codestream));
    CHECK(dicom::jpeg2000_codestream(k_codestream) == k_codestream);
    const auto jp2 =
        k_signature + box("ftyp", "jp2 \x00\x00\x00\x00jp2 ") + box("jp2c", k_codestream);
    CHECK(dicom::is_jp2_file(jp2));
    CHECK(dicom::jpeg2000_codestream(jp2) == k_codestream);
  }

  TEST_CASE("a box running to the end (LBox 0) and a 64-bit XLBox")
  {
    std::string last = k_signature + std::string("\x00\x00\x00\x00jp2c", 8) + k_codestream;
    CHECK(dicom::jpeg2000_codestream(last) == k_codestream);
    std::string xl = k_signature + std::string("\x00\x00\x00\x01jp2c", 8);
    const std::uint64_t n = 16 + k_codestream.size();
    for (int shift = 56; shift >= 0; shift -= 8) {
      xl += static_cast<char>(n >> shift);
    }
    CHECK(dicom::jpeg2000_codestream(xl + k_codestream) == k_codestream);
  }

  TEST_CASE("cut, oversized, undersized boxes and garbage give nothing")
  {
    const auto jp2 = k_signature + box("jp2c", k_codestream);
    CHECK(
        dicom::jpeg2000_codestream(jp2.substr(0, jp2.size() - 3)).empty()); // box longer than data
    CHECK(dicom::jpeg2000_codestream(k_signature + std::string("\x00\x00\x00\x04jp2c", 8)).empty());
    CHECK(dicom::jpeg2000_codestream(k_signature + std::string("\x00\x00\x00\x01jp2c", 8)).empty());
    CHECK(dicom::jpeg2000_codestream(k_signature + box("jp2c", "not a codestream")).empty());
    CHECK(dicom::jpeg2000_codestream("GIF89a").empty());
    CHECK(dicom::jpeg2000_codestream("").empty());
  }
}
