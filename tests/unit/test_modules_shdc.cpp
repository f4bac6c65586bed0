// SPDX-License-Identifier: GPL-3.0-or-later
#include <shdc/manifest.hpp>
#include <shdc/shdc_source.hpp>
#include <source/source.hpp>

#include <doctest/doctest.h>

TEST_SUITE("shdc::manifest")
{
  TEST_CASE("requests are signed over the parameters in order, then the raw key")
  {
    // md5("sid=123&mode=0&nonce_str=abcDEF&token=0a1b2c&key=5fbcVzmBJNUsw53#")
    CHECK(shdc::signed_query(
              {{"sid", "123"}, {"mode", "0"}, {"nonce_str", "abcDEF"}, {"token", "0a1b2c"}},
              shdc::k_default_key)
          == "sid=123&mode=0&nonce_str=abcDEF&token=0a1b2c&sign=79a0c489c3eab65f92072aa5c3a7fcc6");
    CHECK(shdc::signed_query({{"nonce_str", "abcDEF"}}, shdc::k_default_key)
          == "nonce_str=abcDEF&sign=ae1e96b37475e1c6252237b69ad3ab4a");
  }

  TEST_CASE("the per-file Authorization is four literal parts, not base64")
  {
    CHECK(
        shdc::file_authorization("123", "0a1b2c", "1700000000000", "0A1B2C3D", shdc::k_default_key)
        == "Basic 123;0a1b2c;1700000000000;48dc97c0fc481c0579e9b00bb289684f");
  }

  TEST_CASE("the study detail names patient, exam and date with their fallbacks")
  {
    auto s = shdc::parse_study(
        R"({"code":0,"msg":null,"study":{"patient":{"name":"Li*"},"description":"","modality_type":"CT",
          "study_datetime":null,"study_date":"2024-03-15","study_time":"09:30:15"}})");
    REQUIRE(s);
    CHECK(s->patient == "Li*");
    CHECK(s->exam == "CT");
    CHECK(s->datetime == "2024-03-1509:30:15");
    s = shdc::parse_study(R"({"code":0,"study":{"patient":{"name":"A"},"description":"Chest",
                              "study_datetime":"2024-03-15 09:30:15"}})");
    REQUIRE(s);
    CHECK(s->exam == "Chest");
    CHECK(s->datetime == "2024-03-15 09:30:15");
  }

  TEST_CASE("the series list splits the comma-separated names")
  {
    const auto l = shdc::parse_series_list(
        R"({"code":0,"result":[{"description":"Axial","series_number":2,"source_folder":"20240315/ab12",
          "names":"0A1B2C3D,0A1B2C3E"},{"description":null,"source_folder":"x","names":""}]})");
    REQUIRE(l);
    REQUIRE(l->size() == 2);
    CHECK((*l)[0].number == 2L);
    CHECK((*l)[0].source_folder == "20240315/ab12");
    CHECK((*l)[0].names == std::vector<std::string>{"0A1B2C3D", "0A1B2C3E"});
    CHECK_FALSE((*l)[1].number);
    CHECK((*l)[1].names.empty());
  }

  TEST_CASE("error codes map to source::Errc")
  {
    CHECK(shdc::parse_study(R"({"code":1005,"msg":"expired"})").error().code
          == source::Errc::link_expired);
    CHECK(shdc::parse_study(R"({"code":1001,"msg":"sign error"})").error().code
          == source::Errc::upstream_changed);
    CHECK(shdc::parse_study(R"({"code":1002,"msg":"token error"})").error().code
          == source::Errc::auth_rejected);
    CHECK(shdc::parse_series_list("<html>").error().code == source::Errc::upstream_changed);
    CHECK(shdc::parse_share_verify(R"({"code":0,"url_link":"https://h/#/home?sid=1&token=ab"})")
              .value()
          == "https://h/#/home?sid=1&token=ab");
  }

  TEST_CASE("pictures in the listing are junk; hex names are not")
  {
    CHECK(shdc::is_junk_name("0A1B2C3D.jpg"));
    CHECK(shdc::is_junk_name("report.PNG"));
    CHECK_FALSE(shdc::is_junk_name("0A1B2C3D"));
  }

  TEST_CASE("both URL shapes are accepted by host")
  {
    CHECK(shdc::accepts("https://ylyyx.shdc.org.cn/#/home?sid=1&token=ab"));
    CHECK(shdc::accepts("https://ylyyx.shdc.org.cn/code.html?appid=x&share_id=u&ctype=5"));
    CHECK_FALSE(shdc::accepts("https://shdc.org.cn/#/home?sid=1"));
  }
}
