// SPDX-License-Identifier: GPL-3.0-or-later
#include <source/source.hpp>
#include <sugh/manifest.hpp>
#include <sugh/sugh_source.hpp>

#include <doctest/doctest.h>

TEST_SUITE("sugh::manifest")
{
  TEST_CASE("the share lookup gives study, organisation and patient")
  {
    const auto s = sugh::parse_share(
        R"({"code":"200","message":"ok","data":{"studyUid":"1.2","params":{"orgCode":"O1","patientName":"Z"}}})");
    REQUIRE(s);
    CHECK(s->study_uid == "1.2");
    CHECK(s->org_code == "O1");
    CHECK(s->patient == "Z");
  }

  TEST_CASE("a code other than \"200\" is an expired link with the platform's message")
  {
    const auto s = sugh::parse_share(R"({"code":"500","message":"share expired","data":null})");
    REQUIRE_FALSE(s);
    CHECK(s.error().code == source::Errc::link_expired);
    CHECK(s.error().detail.find("share expired") != std::string::npos);
    CHECK(sugh::parse_share("<html>").error().code == source::Errc::upstream_changed);
  }

  TEST_CASE("the listing keeps the document order of its maps")
  {
    const auto s = sugh::parse_study(
        R"({"code":"200","data":[{"std":{"studyUID":"9.9","studyDescription":"CT","studyDateTime":"2024-01-02 03:04:05"},)"
        R"("sers":{"z":{"seriesUID":"9.9.1","seriesDescription":"A","seriesNumber":1,)"
        R"("imgs":{"b":{"imageUID":"9.9.1.2"},"a":{"imageUID":"9.9.1.1"}}},)"
        R"("a":{"seriesUID":"9.9.2","seriesDescription":"B","seriesNumber":"2","imgs":{}}}}]})");
    REQUIRE(s);
    CHECK(s->uid == "9.9");
    REQUIRE(s->series.size() == 2);
    CHECK(s->series[0].uid == "9.9.1");
    CHECK(s->series[1].number == 2);
    REQUIRE(s->series[0].images.size() == 2);
    CHECK(s->series[0].images[0] == "9.9.1.2");
  }

  TEST_CASE("links of work.sugh.net are accepted")
  {
    CHECK(sugh::accepts("https://work.sugh.net:8002/pc/auth-viewer?clinicalShareToken=abc"));
    CHECK_FALSE(sugh::accepts("https://sugh.net/pc/auth-viewer?clinicalShareToken=abc"));
  }
}
