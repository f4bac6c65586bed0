// SPDX-License-Identifier: GPL-3.0-or-later
#include <source/source.hpp>
#include <yzhcloud/manifest.hpp>
#include <yzhcloud/yzhcloud_source.hpp>

#include <doctest/doctest.h>

TEST_SUITE("yzhcloud::manifest")
{
  TEST_CASE("instance_ids split into names and extensions")
  {
    const auto e = yzhcloud::split_instance_ids("1.2.3,1.2.4, shot|jpg,,p|png");
    REQUIRE(e.size() == 4);
    CHECK(e[0].name == "1.2.3");
    CHECK(e[0].ext == "dcm");
    CHECK(e[2].name == "shot");
    CHECK(e[2].ext == "jpg");
    CHECK(e[3].ext == "png");
  }

  TEST_CASE("a listing gives series, names and the CDN base")
  {
    const auto l = yzhcloud::parse_listing(
        R"({"patient_name":"Li*","checkitems":"CT","study_date":"2024-03-15",)"
        R"("storage":"http://cdn.example/a/b/","series":[{"series_number":2,)"
        R"("series_description":"Axial","instance_ids":"1.2.3,x|jpg"},)"
        R"({"series_number":"7","series_description":"","instance_ids":""}]})");
    REQUIRE(l);
    CHECK(l->patient == "Li*");
    REQUIRE(l->series.size() == 2);
    CHECK(l->series[0].number == 2);
    CHECK(l->series[1].number == 7);
    CHECK(l->series[1].entries.empty());
    const auto base = yzhcloud::cdn_base(l->storage, "https");
    CHECK(base == "https://cdn.example/a/b");
    CHECK(yzhcloud::file_url(base, "1.9", l->series[0], l->series[0].entries[0])
          == "https://cdn.example/a/b/1.9/2.1.2.3.dcm");
    CHECK(yzhcloud::file_url(base, "1.9", l->series[0], l->series[0].entries[1])
          == "https://cdn.example/a/b/1.9/2.x.jpg");
  }

  TEST_CASE("an unknown study is an expired link, other JSON a changed upstream")
  {
    for (const char* body : {"null", "{}", R"({"patient_name":"x"})"}) {
      const auto l = yzhcloud::parse_listing(body);
      REQUIRE_FALSE(l);
      CHECK(l.error().code == source::Errc::link_expired);
    }
    for (const char* body : {"<html>", "[1]", R"({"storage":"http://a","series":3})"}) {
      const auto l = yzhcloud::parse_listing(body);
      REQUIRE_FALSE(l);
      CHECK(l.error().code == source::Errc::upstream_changed);
    }
  }

  TEST_CASE("UID-looking names can be checked before downloading")
  {
    CHECK(yzhcloud::looks_like_uid("1.2.840.113619.2.1"));
    CHECK_FALSE(yzhcloud::looks_like_uid("ab12"));
    CHECK_FALSE(yzhcloud::looks_like_uid(""));
    CHECK_FALSE(yzhcloud::looks_like_uid("1.2."));
  }

  TEST_CASE("share links of m.yzhcloud.com are accepted")
  {
    CHECK(yzhcloud::accepts("https://m.yzhcloud.com/w_viewer_2/?study_instance_uid=1.2&org_id=3"));
    CHECK_FALSE(yzhcloud::accepts("https://yzhcloud.com.evil/w_viewer_2/"));
  }
}
