// SPDX-License-Identifier: GPL-3.0-or-later
#include <core/strings.hpp>

#include <doctest/doctest.h>

TEST_SUITE("core::strings")
{
  TEST_CASE("UTF-8 validation accepts Chinese and rejects GB18030 bytes")
  {
    CHECK(core::is_valid_utf8("Wang^XiaoDong=\xE7\x8E\x8B^\xE5\xB0\x8F\xE6\x9D\xB1"));
    CHECK_FALSE(core::is_valid_utf8("\xCD\xF5^\xD0\xA1\xB6\xAB")); // 王^小东 in GB18030
    CHECK_FALSE(core::is_valid_utf8("\xED\xA0\x80"));              // surrogate
    CHECK_FALSE(core::is_valid_utf8("\xC0\xAF"));                  // overlong
  }

  TEST_CASE("sanitize replaces each bad byte with U+FFFD and keeps the rest")
  {
    CHECK(core::sanitize_utf8("a\xFF"
                              "b")
          == "a\xEF\xBF\xBD"
             "b");
    CHECK(core::sanitize_utf8("\xE7\x8E\x8B") == "\xE7\x8E\x8B");
  }

  TEST_CASE("trim removes DICOM padding")
  {
    CHECK(core::trim(" CT ") == "CT");
    CHECK(core::trim(std::string_view("1.2.3\0", 6)) == "1.2.3");
  }

  TEST_CASE("split keeps empty fields")
  {
    const auto parts = core::split("\\ISO 2022 IR 87", '\\');
    REQUIRE(parts.size() == 2);
    CHECK(parts[0].empty());
    CHECK(parts[1] == "ISO 2022 IR 87");
  }
}
