// SPDX-License-Identifier: GPL-3.0-or-later
// S11: series_dicom_number from the (plain-HTTP) server sizes the work list;
// absurd counts are refused before any memory is spent on them.
#include <source/source.hpp>
#include <szjudianyun/framing.hpp>

#include <doctest/doctest.h>

namespace {

core::Result<szjudianyun::StudyInfo>
info_with(const std::string& counts)
{
  return szjudianyun::parse_study_info(
      R"(42["m",{"hosipital":"H9b1u2d3d4h5aS7","series":["s1","s2","dfyfilm1"],)"
      R"("series_dicom_number":)"
      + counts + "}]");
}

} // namespace

TEST_SUITE("szjudianyun::caps")
{
  TEST_CASE("a series count of 10^10 is upstream_changed, not a work list")
  {
    const auto r = info_with(R"({"s1":10000000000,"s2":1,"dfyfilm1":1})");
    REQUIRE_FALSE(r);
    CHECK(r.error().code == source::Errc::upstream_changed);
    CHECK(r.error().message().find("s1") != std::string::npos);
  }

  TEST_CASE("per-series and per-study caps, and negative counts")
  {
    CHECK(info_with(R"({"s1":100000,"s2":"100000","dfyfilm1":1})"));
    CHECK_FALSE(info_with(R"({"s1":100001,"s2":1,"dfyfilm1":1})"));
    CHECK_FALSE(info_with(R"({"s1":-5,"s2":1,"dfyfilm1":1})"));
    CHECK_FALSE(info_with(R"({"s1":1,"s2":"999999999999","dfyfilm1":1})"));
  }

  TEST_CASE("the study total is capped too")
  {
    std::string series = "[";
    std::string counts = "{";
    for (int i = 0; i < 11; ++i) {
      series += std::string(i ? "," : "") + "\"s" + std::to_string(i) + "\"";
      counts += std::string(i ? "," : "") + "\"s" + std::to_string(i) + "\":100000";
    }
    const auto r =
        szjudianyun::parse_study_info(R"(42["m",{"hosipital":"H9b1u2d3d4h5aS7","series":)" + series
                                      + R"(],"series_dicom_number":)" + counts + "}}]");
    REQUIRE_FALSE(r);
    CHECK(r.error().code == source::Errc::upstream_changed);
  }
}
