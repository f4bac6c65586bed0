// SPDX-License-Identifier: GPL-3.0-or-later
#include <http/content.hpp>
#include <source/source.hpp>
#include <szjudianyun/framing.hpp>
#include <szjudianyun/szjudianyun_source.hpp>

#include <doctest/doctest.h>

#include <algorithm>

TEST_SUITE("szjudianyun::framing")
{
  TEST_CASE("share links give hospital, study and password")
  {
    const auto p = szjudianyun::parse_share_url("http://qr.szjudianyun.com/wx/?a=H1&b=S2&c=p%2B3");
    REQUIRE(p);
    CHECK(p->hospital_id == "H1");
    CHECK(p->study == "S2");
    CHECK(p->password == "p+3");
    CHECK(szjudianyun::parse_share_url("http://qr.szjudianyun.com/wx/?c=1").error().code
          == source::Errc::bad_request);
    CHECK(szjudianyun::accepts("http://qr.szjudianyun.com/wx/?a=1&b=2&c=3"));
    CHECK_FALSE(szjudianyun::accepts("http://szjudianyun.com/wx/?a=1"));
  }

  TEST_CASE("the polling handshake gives the sid, with more packets after it")
  {
    const auto h = szjudianyun::parse_handshake(
        R"(97:0{"sid":"abc-123","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":60000}2:40)");
    REQUIRE(h);
    CHECK(h->sid == "abc-123");
    CHECK(h->ping_interval_ms == 25000);
    CHECK(szjudianyun::parse_handshake("ok").error().code == source::Errc::upstream_changed);
    CHECK_FALSE(szjudianyun::parse_handshake(R"(5:0{"x":1})"));
  }

  TEST_CASE("text frames are classified by their Engine.IO and socket.io types")
  {
    using szjudianyun::Frame;
    CHECK(szjudianyun::classify("3probe") == Frame::pong);
    CHECK(szjudianyun::classify("2") == Frame::ping);
    CHECK(szjudianyun::classify("6") == Frame::noop);
    CHECK(szjudianyun::classify("42[\"a\",{}]") == Frame::event);
    CHECK(szjudianyun::classify("451-[\"a\",{\"_placeholder\":true,\"num\":0}]")
          == Frame::binary_event);
    CHECK(szjudianyun::classify("41") == Frame::disconnect);
    CHECK(szjudianyun::event_payload("42/nsp,[1]").value() == "[1]");
  }

  TEST_CASE("the binary marker is stripped only when present")
  {
    CHECK(szjudianyun::strip_binary_marker(std::string("\x04"
                                                       "abc"))
          == "abc");
    CHECK(szjudianyun::strip_binary_marker("abc") == "abc");
    std::string file(128, '\0');
    file += "DICM";
    file += "rest";
    CHECK(http::is_part10(file));
    CHECK_FALSE(http::is_part10("\xff\xd8\xff\xe0"));
  }

  TEST_CASE("the study info splits hosipital and puts dfyfilm series aside")
  {
    const auto i = szjudianyun::parse_study_info(
        R"(42["m",{"hosipital":"H9b1u2d3d4h5aS7","series":["s1","s2","dfyfilm1"],)"
        R"("series_dicom_number":{"s1":3,"s2":"12","dfyfilm1":1}}])");
    REQUIRE(i);
    CHECK(i->hospital_id == "H9");
    CHECK(i->study == "S7");
    REQUIRE(i->series.size() == 2);
    CHECK(i->series[1].count == 12);
    REQUIRE(i->junk.size() == 1);
    CHECK(i->junk[0].id == "dfyfilm1");
  }

  TEST_CASE("error events map to auth_rejected or link_expired")
  {
    CHECK(szjudianyun::parse_study_info(R"(42["m",{"error":"wrong password"}])").error().code
          == source::Errc::auth_rejected);
    CHECK(szjudianyun::parse_study_info(R"(42["m",{"error":"no such study"}])").error().code
          == source::Errc::link_expired);
    CHECK(szjudianyun::parse_study_info(R"(42["m",{"series":[]}])").error().code
          == source::Errc::upstream_changed);
  }

  TEST_CASE("requests keep the platform's key order and the 27 tags")
  {
    szjudianyun::StudyInfo info;
    info.hospital_id = "H";
    info.study = "S";
    const auto r = szjudianyun::fetch_request(info, "s1", 4);
    CHECK(r.rfind(R"({"hospital_id":"H","study":"S","tag":"0x00100010b1u2d3d4h5a0x00101001)", 0)
          == 0);
    CHECK(r.find(R"("type":"hangC","ww":"","wl":"","series":"s1","series_in":"4"})")
          != std::string::npos);
    const auto tags = szjudianyun::tag_list();
    CHECK(std::count(tags.begin(), tags.end(), 'x') == 27);
    CHECK(szjudianyun::send_message(szjudianyun::save_request({"H", "S", "P"}))
          == R"(42["sendMessage",{"type":"saveC","hospital_id":"H","study":"S","password":"P"}])");
  }
}
