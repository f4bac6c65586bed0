// SPDX-License-Identifier: GPL-3.0-or-later
#include <mtywcloud/manifest.hpp>
#include <mtywcloud/mtywcloud_source.hpp>
#include <source/source.hpp>

#include <doctest/doctest.h>

TEST_SUITE("mtywcloud::manifest")
{
  TEST_CASE("the query plaintext escapes the path form-style")
  {
    CHECK(mtywcloud::form_escape("http://b/o s/1+DICOMDIR")
          == "http%3A%2F%2Fb%2Fo+s%2F1%2BDICOMDIR");
    CHECK(mtywcloud::query_plaintext("http://b/o s/1+DICOMDIR", "42")
          == "DicomDirPath=http%3A%2F%2Fb%2Fo+s%2F1%2BDICOMDIR&OrganizationID=42");
  }

  TEST_CASE("AES-256-CBC with the default key and IV matches OpenSSL's command line, as hex")
  {
    // printf '%s' <plaintext> | openssl enc -aes-256-cbc -K <hex key> -iv <hex iv> | xxd -p
    const auto plain = mtywcloud::query_plaintext("http://b/o s/1+DICOMDIR", "42");
    const std::string want =
        "71bac47413f0db80c5006615bead82b9552a2d4d34fed06e6a26a20dc5e2cec433797d41385711d1990e03"
        "7847f6ec9bc3f450f15d527abd9a17a3d10e0cfffb6a95ca81016d25be30aeeaa2afeafe00";
    CHECK(mtywcloud::encrypt_hex(plain, mtywcloud::k_default_key, mtywcloud::k_default_iv) == want);
    CHECK(mtywcloud::decrypt_hex(want, mtywcloud::k_default_key, mtywcloud::k_default_iv) == plain);
    CHECK_FALSE(mtywcloud::decrypt_hex("zz", mtywcloud::k_default_key, mtywcloud::k_default_iv));
  }

  TEST_CASE(
      "the study answer lists series and images; empty descriptions become the localizer name")
  {
    const auto s = mtywcloud::parse_study_info(
        R"({"Success":true,"Message":null,"Data":[{"PatientName":"W*","ModalitiesInStudy":"CT",
          "StudyDateTime":"2024-03-15 09:30:15","SeriesList":[{"SeriesDescription":"","SeriesNumber":1,
          "ImageCount":1,"ImageList":[{"SOPInstanceUID":"1.1","SeriesInstanceUID":"1","StudyInstanceUID":"0",
          "ImagePath":"DICOM/1/1"}]}]}]})");
    REQUIRE(s);
    CHECK(s->patient == "W*");
    CHECK(s->exam == "CT");
    REQUIRE(s->series.size() == 1);
    CHECK(s->series[0].description == "定位像");
    CHECK(s->series[0].images[0].image_path == "DICOM/1/1");
  }

  TEST_CASE(
      "Success false maps to link_expired, or upstream_changed when the query did not decrypt")
  {
    CHECK(
        mtywcloud::parse_study_info(R"({"Success":false,"Message":"study not found","Data":null})")
            .error()
            .code
        == source::Errc::link_expired);
    CHECK(mtywcloud::parse_study_info(R"({"Success":false,"Message":"bad padding","Data":null})")
              .error()
              .code
          == source::Errc::upstream_changed);
    CHECK(mtywcloud::accepts("https://ss.mtywcloud.com/ICCWebClient/Image/Viewer?AllowQuery=0"));
    CHECK_FALSE(mtywcloud::accepts("https://mtywcloud.com/"));
  }
}
