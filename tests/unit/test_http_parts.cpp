// SPDX-License-Identifier: GPL-3.0-or-later
// The pieces split out of http::Client: content checks, cookie lines, retry
// timing.
#include <http/content.hpp>
#include <http/cookies.hpp>
#include <http/retry.hpp>

#include <doctest/doctest.h>

#include <string>

TEST_SUITE("http::content")
{
  TEST_CASE("a Part 10 file is at least 132 bytes with DICM at 128")
  {
    std::string file(128, '\0');
    file += "DICM";
    CHECK(http::is_part10(file)); // exactly 132: the smallest
    CHECK_FALSE(http::is_part10(file.substr(0, 131)));
    CHECK(http::looks_like_dicom(file));
    CHECK(http::looks_like_dicom(std::string("\x08\x00\x05\x00CS\x0A\x00", 8)));
    CHECK_FALSE(http::looks_like_dicom("<html>"));
  }

  TEST_CASE("HTML pages and body descriptions")
  {
    CHECK(http::looks_like_html("\xEF\xBB\xBF  \n<!DOCTYPE html>"));
    CHECK_FALSE(http::looks_like_html("{\"a\": 1}"));
    CHECK(http::describe_body("") == "empty body");
    CHECK(http::describe_body("<p>login</p>") == "HTML page");
    CHECK(http::describe_body("[1, 2]") == "JSON");
    CHECK(http::describe_body("\x01\x02\x03") == "3 bytes of other data");
    CHECK_FALSE(http::matches(http::Expect::json, "<html>"));
    CHECK(http::matches(http::Expect::any, "<html>"));
  }
}

TEST_SUITE("http::cookies")
{
  TEST_CASE("host and tail matching, expiry, #HttpOnly_")
  {
    const std::string line = "#HttpOnly_.pacs.example\tTRUE\t/\tFALSE\t0\tsid\tabc";
    CHECK(http::cookie_value(line, "pacs.example", "sid", 1000).value_or("") == "abc");
    CHECK(http::cookie_value(line, "www.pacs.example", "sid", 1000).value_or("") == "abc");
    CHECK_FALSE(http::cookie_value(line, "evilpacs.example", "sid", 1000));
    CHECK_FALSE(http::cookie_value(line, "pacs.example", "other", 1000));
    const std::string exact = "pacs.example\tFALSE\t/\tFALSE\t2000\tsid\tv";
    CHECK_FALSE(http::cookie_value(exact, "www.pacs.example", "sid", 1000));
    CHECK(http::cookie_value(exact, "pacs.example", "sid", 1000).value_or("") == "v");
    CHECK_FALSE(http::cookie_value(exact, "pacs.example", "sid", 3000)); // expired
    CHECK_FALSE(http::cookie_value("garbage", "pacs.example", "sid", 1000));
  }
}

TEST_SUITE("http::retry")
{
  TEST_CASE("Retry-After seconds, bad values, and backoff bounds")
  {
    CHECK(http::parse_retry_after(" 120 ").value() == std::chrono::seconds(120));
    CHECK_FALSE(http::parse_retry_after(""));
    CHECK_FALSE(http::parse_retry_after("soon"));
    for (int tries = 1; tries <= 12; ++tries) {
      const auto d =
          http::backoff_delay(std::chrono::milliseconds(500), tries, std::chrono::seconds(30));
      const double ideal = std::min(500.0 * (1 << (tries - 1)), 30000.0);
      CHECK(d.count() >= static_cast<long long>(ideal * 0.8) - 1);
      CHECK(d.count() <= static_cast<long long>(ideal * 1.2) + 1);
    }
    CHECK(http::classify(CURLE_OPERATION_TIMEDOUT).retryable);
    CHECK_FALSE(http::classify(CURLE_PEER_FAILED_VERIFICATION).retryable);
    CHECK(http::classify(CURLE_ABORTED_BY_CALLBACK).code == http::Errc::cancelled);
  }
}
