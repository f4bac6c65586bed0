// SPDX-License-Identifier: GPL-3.0-or-later
// The one base64 (core) and the one multipart splitter (http), shared by
// the HAR importer, the DICOMweb source and the zscloud manifest.
#include <core/base64.hpp>
#include <core/crypto.hpp>
#include <core/strings.hpp>
#include <http/multipart.hpp>

#include <doctest/doctest.h>

#include <string>
#include <vector>

TEST_SUITE("core::base64")
{
  TEST_CASE("RFC 4648 section 10 test vectors, both ways")
  {
    const std::pair<const char*, const char*> vectors[] = {{"", ""},
                                                           {"f", "Zg=="},
                                                           {"fo", "Zm8="},
                                                           {"foo", "Zm9v"},
                                                           {"foob", "Zm9vYg=="},
                                                           {"fooba", "Zm9vYmE="},
                                                           {"foobar", "Zm9vYmFy"}};
    for (const auto& [plain, encoded] : vectors) {
      CHECK(core::base64_encode(plain) == encoded);
      std::string out;
      REQUIRE(core::base64_decode(encoded, out));
      CHECK(out == plain);
    }
  }

  TEST_CASE("binary bytes, wrapped lines, missing padding; garbage fails")
  {
    const std::string bytes("\x00\xff\x10\x80\x7f", 5);
    std::string out;
    REQUIRE(core::base64_decode(core::base64_encode(bytes), out));
    CHECK(out == bytes);
    REQUIRE(core::base64_decode("Zm9v\r\nYmFy", out));
    CHECK(out == "foobar");
    REQUIRE(core::base64_decode("Zm8", out)); // padding left out
    CHECK(out == "fo");
    CHECK_FALSE(core::base64_decode("Zm9v!", out));
    CHECK_FALSE(core::base64_decode("Zg==Zg==", out)); // data after padding
    CHECK_FALSE(core::base64_decode("Z", out));        // one symbol is no byte
  }

  TEST_CASE("ASCII case helpers")
  {
    CHECK(core::to_lower_ascii("Content-Type \xE7\x8E\x8B") == "content-type \xE7\x8E\x8B");
    CHECK(core::iequals_ascii("Boundary", "bOUNDARY"));
    CHECK_FALSE(core::iequals_ascii("boundary", "boundar"));
  }
}

TEST_SUITE("http::multipart")
{
  TEST_CASE("boundary parameter, quoted or not, any case")
  {
    CHECK(http::boundary_of("multipart/related; type=\"application/dicom\"; boundary=abc")
          == "abc");
    CHECK(http::boundary_of("multipart/related;BOUNDARY=\"x y\"") == "x y");
    CHECK(http::boundary_of("application/dicom").empty());
  }

  TEST_CASE("parts with and without headers, CRLF or bare LF")
  {
    const std::string body =
        "--b\r\nContent-Type: application/dicom\r\n\r\nONE\r\n--b\r\n\r\nTWO\r\n"
        "--b\nContent-Type: x\n\nTHREE\n--b--\r\n";
    const auto m = http::split_multipart(body, "b");
    CHECK(m.problem.empty());
    CHECK(m.parts == std::vector<std::string_view>{"ONE", "TWO", "THREE"});
  }

  TEST_CASE("a cut body keeps the complete parts and says so")
  {
    const std::string body = "--b\r\n\r\nONE\r\n--b\r\n\r\nTW";
    const auto m = http::split_multipart(body, "b");
    CHECK(m.problem == "truncated multipart body");
    CHECK(m.parts == std::vector<std::string_view>{"ONE"});
    CHECK(http::split_multipart("--b\r\nno empty line", "b").problem == "truncated multipart body");
    CHECK(http::split_multipart("no delimiter", "b").problem == "multipart boundary not found");
    CHECK(http::split_multipart(body, "").problem == "multipart response without boundary");
  }
}

TEST_SUITE("core::crypto")
{
  TEST_CASE("AES-128 ECB and CBC: NIST SP 800-38A F.1.1 / F.2.1 first block, and PKCS#7")
  {
    std::string key, iv, plain, ecb, cbc;
    REQUIRE(core::base64_decode("K34VFiiu0qar9xWICc9PPA==", key));   // 2b7e1516...4f3c
    REQUIRE(core::base64_decode("AAECAwQFBgcICQoLDA0ODw==", iv));    // 00010203...0e0f
    REQUIRE(core::base64_decode("a8G+4i5An5bpPX4Rc5MXKg==", plain)); // 6bc1bee2...172a
    REQUIRE(core::base64_decode("Otd7tA16NmConsrzJGbvlw==", ecb));   // 3ad77bb4...66ef97
    REQUIRE(core::base64_decode("dkmrrIEZskbO6Y6bEukZfQ==", cbc));   // 7649abac...197d
    auto e = core::aes(true, plain, key, iv, core::AesMode::ecb);
    REQUIRE(e);
    CHECK(e->size() == 32); // one block plus a full padding block
    CHECK(e->substr(0, 16) == ecb);
    auto c = core::aes(true, plain, key, iv, core::AesMode::cbc);
    REQUIRE(c);
    CHECK(c->substr(0, 16) == cbc);
    CHECK(core::aes(false, *c, key, iv, core::AesMode::cbc).value_or("") == plain);
    CHECK_FALSE(core::aes(true, plain, "short", iv, core::AesMode::cbc));
    CHECK_FALSE(core::aes(true, plain, key, "", core::AesMode::cbc));
    CHECK_FALSE(core::aes(false, c->substr(0, 16), key, iv, core::AesMode::cbc)); // bad padding
  }
}
