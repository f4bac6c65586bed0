// SPDX-License-Identifier: GPL-3.0-or-later
#include <dicom/nesting.hpp>

#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

namespace {

std::string
le16(std::uint16_t v)
{
  return std::string{static_cast<char>(v & 0xFF), static_cast<char>(v >> 8)};
}

std::string
le32(std::uint32_t v)
{
  return le16(static_cast<std::uint16_t>(v & 0xFFFF)) + le16(static_cast<std::uint16_t>(v >> 16));
}

// Implicit VR little endian: `levels` nested (0008,1115) sequences, closed or not.
std::string
nested(std::size_t levels, bool closed)
{
  std::string open = le16(0x0008) + le16(0x1115) + le32(0xFFFFFFFF) + le16(0xFFFE) + le16(0xE000)
                     + le32(0xFFFFFFFF);
  std::string close = le16(0xFFFE) + le16(0xE00D) + le32(0) + le16(0xFFFE) + le16(0xE0DD) + le32(0);
  std::string out = le16(0x0008) + le16(0x0016) + le32(2) + "1 ";
  for (std::size_t i = 0; i < levels; ++i) {
    out += open;
  }
  if (closed) {
    for (std::size_t i = 0; i < levels; ++i) {
      out += close;
    }
  }
  return out;
}

std::filesystem::path
write(const std::string& name, const std::string& bytes)
{
  const auto path = std::filesystem::temp_directory_path()
                    / ("cf-nesting-" + std::to_string(::getpid()) + "-" + name);
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

} // namespace

TEST_SUITE("dicom::nesting")
{
  TEST_CASE("raw implicit datasets: the limit is counted in sequences")
  {
    const auto ok = write("ok", nested(100, true));
    const auto deep = write("deep", nested(101, true));
    const auto open_deep = write("open", nested(5000, false));
    CHECK(dicom::nesting_within(ok));
    CHECK_FALSE(dicom::nesting_within(deep));
    CHECK_FALSE(dicom::nesting_within(open_deep));
    // Closed sequences give their depth back: many siblings are fine.
    std::string siblings = nested(0, true);
    for (int i = 0; i < 500; ++i) {
      siblings += nested(3, true).substr(10);
    }
    const auto wide = write("wide", siblings);
    CHECK(dicom::nesting_within(wide));
    for (const auto& p : {ok, deep, open_deep, wide}) {
      std::filesystem::remove(p);
    }
  }

  TEST_CASE("garbage and truncated input pass through to DCMTK")
  {
    const auto junk = write("junk", std::string(1000, '\xFE'));
    const auto empty = write("empty", "");
    CHECK(dicom::nesting_within(junk));
    CHECK(dicom::nesting_within(empty));
    CHECK(dicom::nesting_within("/nonexistent/cf-nesting"));
    std::filesystem::remove(junk);
    std::filesystem::remove(empty);
  }

  TEST_CASE("pydicom's test files are within the limit")
  {
    const std::filesystem::path dir = "/usr/lib/python3/dist-packages/pydicom/data/test_files";
    if (!std::filesystem::exists(dir)) {
      MESSAGE("pydicom's test files are not installed");
      REQUIRE(std::getenv("CF_ALLOW_MISSING_FIXTURES") != nullptr);
      return;
    }
    int files = 0;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
      if (e.is_regular_file() && e.path().extension() == ".dcm") {
        CHECK_MESSAGE(dicom::nesting_within(e.path()), e.path().string());
        ++files;
      }
    }
    CHECK(files > 50);
  }
}
