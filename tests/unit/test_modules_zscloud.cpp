// SPDX-License-Identifier: GPL-3.0-or-later
#include <core/strings.hpp>
#include <source/source.hpp>
#include <zscloud/manifest.hpp>
#include <zscloud/zscloud_source.hpp>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

namespace {

std::vector<std::string>
default_keys()
{
  return core::split(zscloud::k_default_keys, ',');
}

} // namespace

TEST_SUITE("zscloud::manifest")
{
  TEST_CASE("AES-ECB with both known keys matches OpenSSL's command line")
  {
    // printf '{"a":1}' | openssl enc -aes-256-ecb -K <hex of the key> | base64
    auto c = zscloud::base64_decode("Xhk1KqahKhdSfpa5F32hRg==");
    REQUIRE(c);
    CHECK(zscloud::aes_decrypt(*c, "c57b1589172b85531c2dbad73c5e9056", {}, zscloud::Mode::ecb)
          == R"({"a":1})");
    c = zscloud::base64_decode("\"LLdQyfJGbu+YTcZhpkJXgQ==\"\n"); // quotes and newline dropped
    REQUIRE(c);
    CHECK(zscloud::aes_decrypt(*c, "c6657583e265f4ca", {}, zscloud::Mode::ecb) == R"({"a":1})");
    CHECK(zscloud::aes_decrypt(*c, "c57b1589172b85531c2dbad73c5e9056", {}, zscloud::Mode::ecb)
              .value_or("")
          != R"({"a":1})");
  }

  TEST_CASE("AES-CBC study info decrypts and round-trips")
  {
    const auto c = zscloud::base64_decode("xMEfLRYjmZ0axXrM+OlM+A==");
    REQUIRE(c);
    CHECK(zscloud::aes_decrypt(*c, "0123456789abcdef", "fedcba9876543210", zscloud::Mode::cbc)
          == R"({"records":[]})");
    const std::string text = "some longer text that spans more than one block";
    const auto e =
        zscloud::aes_encrypt(text, "0123456789abcdef", "fedcba9876543210", zscloud::Mode::cbc);
    CHECK(zscloud::aes_decrypt(e, "0123456789abcdef", "fedcba9876543210", zscloud::Mode::cbc)
          == text);
    CHECK(zscloud::base64_decode(zscloud::base64_encode(e)).value() == e);
  }

  TEST_CASE("the config is tried with every key; the old one still works")
  {
    const std::string config =
        R"({"x":1,"cetusAESKey":{"cipherSecretKey":"k0k1k2k3k4k5k6k7","cipherIv":"i0i1i2i3i4i5i6i7"}})";
    for (const auto& key : default_keys()) {
      const auto body =
          zscloud::base64_encode(zscloud::aes_encrypt(config, key, {}, zscloud::Mode::ecb));
      const auto k = zscloud::decrypt_config(body, default_keys());
      REQUIRE(k);
      CHECK(k->secret == "k0k1k2k3k4k5k6k7");
      CHECK(k->iv == "i0i1i2i3i4i5i6i7");
    }
    const auto unknown = zscloud::base64_encode(
        zscloud::aes_encrypt(config, "ffffffffffffffff", {}, zscloud::Mode::ecb));
    CHECK(zscloud::decrypt_config(unknown, default_keys()).error().code
          == source::Errc::upstream_changed);
  }

  TEST_CASE("the share answer is decrypted into the first record")
  {
    const zscloud::CbcKey key{"k0k1k2k3k4k5k6k7", "i0i1i2i3i4i5i6i7"};
    const std::string info =
        R"({"records":[{"patientName":"Zhang*","procedureItemName":"CT chest","studyDatetime":1736839301000,
          "studyLevelList":[{"studyInstanceUid":"1.2.3","uniqueId":"U1","orgCode":"O1"}]}]})";
    const nlohmann::json answer = {
        {"code", "U000000"},
        {"data",
         {{"encryptionStudyInfo", zscloud::base64_encode(zscloud::aes_encrypt(
                                      info, key.secret, key.iv, zscloud::Mode::cbc))},
          {"token", "t"},
          {"uapToken", "u"}}}};
    const auto s = zscloud::parse_share_answer(answer.dump(), key);
    REQUIRE(s);
    CHECK(s->patient == "Zhang*");
    CHECK(s->exam == "CT chest");
    CHECK(s->datetime_ms == 1736839301000LL);
    CHECK(s->study_uid == "1.2.3");
    CHECK(s->unique_id == "U1");
    CHECK(s->org_code == "O1");
    const auto bad =
        zscloud::parse_share_answer(R"({"code":"E000101","data":"share code expired"})", key);
    REQUIRE_FALSE(bad);
    CHECK(bad.error().code == source::Errc::link_expired);
    CHECK(bad.error().detail.find("share code expired") != std::string::npos);
  }

  TEST_CASE("credentials and hierarchy")
  {
    CHECK(zscloud::parse_credentials(R"({"result":"{\"access_token\":\"T1\",\"expires_in\":60}"})")
              .value()
          == "T1");
    const auto h = zscloud::parse_hierarchy(
        R"({"PatientInfo":{"StudyList":[{"SeriesList":[{"UID":"1.2.3.1","SeriesDes":"Ax","SeriesNum":3,
          "ImageList":[{"UID":"1.2.3.1.1"},{"UID":"1.2.3.1.2"}]}]}]}})");
    REQUIRE(h);
    REQUIRE(h->size() == 1);
    CHECK((*h)[0].number == 3L);
    CHECK((*h)[0].images == std::vector<std::string>{"1.2.3.1.1", "1.2.3.1.2"});
  }

  TEST_CASE("the study time is local time with microseconds only when needed")
  {
    setenv("TZ", "Asia/Shanghai", 1);
    tzset();
    CHECK(zscloud::local_datetime(1736839301000LL) == "2025-01-14 15:21:41");
    CHECK(zscloud::local_datetime(1736839301250LL) == "2025-01-14 15:21:41.250000");
    unsetenv("TZ");
    tzset();
  }
}
