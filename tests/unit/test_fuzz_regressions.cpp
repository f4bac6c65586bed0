// SPDX-License-Identifier: GPL-3.0-or-later
// Minimal reproducers of what the libFuzzer harnesses (tests/fuzz/) found.
// Each case failed (crashed, threw or misbehaved) before its fix.
#include <szjudianyun/framing.hpp>

#include <source/source.hpp>

#include <doctest/doctest.h>

TEST_SUITE("fuzz regressions")
{
  // fuzz_socketio: a raw or %-encoded non-UTF-8 byte in the share link made
  // save_request() throw nlohmann::json type_error 316 out of the module.
  TEST_CASE("szjudianyun share links with non-UTF-8 parameters are refused, not thrown")
  {
    for (const char* url : {"https://www.szjudianyun.com/?a=H1&b=S1&c=\x83W",
                            "https://www.szjudianyun.com/?a=H1&b=S1&c=%83W",
                            "https://www.szjudianyun.com/?a=%FF&b=S1&c=x"}) {
      CAPTURE(url);
      const auto share = szjudianyun::parse_share_url(url);
      if (share) {
        CHECK_NOTHROW((void)szjudianyun::save_request(*share));
      } else {
        CHECK(share.error().code == source::Errc::bad_request);
      }
    }
    const auto ok = szjudianyun::parse_share_url("https://www.szjudianyun.com/?a=H1&b=S1&c=%E7%8E%8B");
    REQUIRE(ok);
    CHECK(ok->password == "\xE7\x8E\x8B");
  }
}
