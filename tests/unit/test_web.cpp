// SPDX-License-Identifier: GPL-3.0-or-later
// The Beast-free parts of the HTTP side: request targets, UIDs, the event
// hub's replay, password and token hashes, the Host/Origin/auth guard.
#include <web/events.hpp>
#include <web/message.hpp>
#include <web/security.hpp>

#include <doctest/doctest.h>

TEST_SUITE("web")
{
  TEST_CASE("parse_target decodes the path and the query and refuses bad escapes")
  {
    std::string path;
    std::map<std::string, std::string> query;
    REQUIRE(web::parse_target("/api/studies?PatientName=%E5%BC%A0*&limit=2&x", path, query));
    CHECK(path == "/api/studies");
    CHECK(query["PatientName"] == "张*");
    CHECK(query["limit"] == "2");
    CHECK(query.count("x") == 1);
    REQUIRE(web::parse_target("/a+b?q=a+b", path, query));
    CHECK(path == "/a+b"); // '+' is a space only in the query
    CHECK(query["q"] == "a b");
    CHECK_FALSE(web::parse_target("/a%2", path, query));
    CHECK_FALSE(web::parse_target("/a%zz", path, query));
    CHECK_FALSE(web::parse_target("/a%00b", path, query)); // NUL never reaches a route
    CHECK_FALSE(web::parse_target("api", path, query));
    REQUIRE(web::parse_target("/x/%2E%2E/y", path, query));
    CHECK(path == "/x/../y"); // the session refuses "/../" after decoding
  }

  TEST_CASE("is_uid takes digits and dots up to 64 characters")
  {
    CHECK(web::is_uid("1.2.840.10008.1.2"));
    CHECK_FALSE(web::is_uid(""));
    CHECK_FALSE(web::is_uid("../etc"));
    CHECK_FALSE(web::is_uid("1.2.3*"));
    CHECK_FALSE(web::is_uid(std::string(65, '1')));
  }

  TEST_CASE("the event hub numbers events and replays those after Last-Event-ID")
  {
    web::EventHub hub(3);
    for (int i = 0; i < 5; ++i) {
      hub.publish("fetch", "{\"n\":" + std::to_string(i) + "}");
    }
    std::vector<web::Event> replay;
    std::vector<std::string> live;
    const auto token =
        hub.subscribe([&](const web::Event& e) { live.push_back(e.data); }, 3, replay);
    REQUIRE(replay.size() == 2); // ids 4 and 5; the ring keeps the last 3
    CHECK(replay[0].id == 4);
    CHECK(replay[1].data == "{\"n\":4}");
    hub.publish("study", "{\"a\":\n1}");
    REQUIRE(live.size() == 1);
    CHECK(live[0] == "{\"a\": 1}"); // a line break would end the SSE message
    CHECK(web::format_event({6, "study", "{}"}) == "id: 6\nevent: study\ndata: {}\n\n");
    hub.unsubscribe(token);
    hub.publish("fetch", "{}");
    CHECK(live.size() == 1);
    std::vector<web::Event> none;
    hub.subscribe([](const web::Event&) {}, 0, none);
    CHECK(none.empty()); // no Last-Event-ID: no replay
  }

  TEST_CASE("password hashes verify only their password; tokens hash to sha256:")
  {
    const auto hash = web::hash_password("s3cret");
    CHECK(hash.rfind("pbkdf2-sha256$200000$", 0) == 0);
    CHECK(web::verify_password("s3cret", hash));
    CHECK_FALSE(web::verify_password("s3cret ", hash));
    CHECK_FALSE(web::verify_password("s3cret", "pbkdf2-sha256$10$x$y"));
    CHECK_FALSE(web::verify_password("s3cret", "plain"));
    CHECK(web::hash_password("s3cret") != hash); // salted
    CHECK(web::hash_token("abc")
          == "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  }

  TEST_CASE("the guard checks Host, Origin and credentials")
  {
    config::Http open;
    web::Guard guard(open);
    web::Request r;
    r.method = "GET";
    r.path = "/api/studies";
    r.headers["host"] = "127.0.0.1:8080";
    CHECK_FALSE(guard.check(r));
    r.headers["host"] = "localhost";
    CHECK_FALSE(guard.check(r));
    r.headers["host"] = "[::1]:8080";
    CHECK_FALSE(guard.check(r));
    r.headers["host"] = "rebound.example:8080";
    REQUIRE(guard.check(r));
    CHECK(guard.check(r)->status == 421);
    r.headers.erase("host");
    CHECK(guard.check(r)->status == 421);

    r.headers["host"] = "127.0.0.1:8080";
    r.method = "POST";
    r.headers["origin"] = "http://evil.example";
    CHECK(guard.check(r)->status == 403);
    r.headers["origin"] = "http://127.0.0.1:8080";
    CHECK_FALSE(guard.check(r));

    config::Http locked;
    locked.tokens.push_back(web::hash_token("tok"));
    locked.hosts.push_back("pacs.clinic.example");
    web::Guard auth(locked);
    web::Request q;
    q.method = "GET";
    q.path = "/api/studies";
    q.headers["host"] = "pacs.clinic.example";
    CHECK(auth.check(q)->status == 401);
    q.headers["authorization"] = "Bearer tok";
    CHECK_FALSE(auth.check(q));
    CHECK(q.user == "token");
    q.headers["authorization"] = "Bearer tok2";
    CHECK(auth.check(q)->status == 401);
    q.headers.erase("authorization");
    q.path = "/ui/app.js";
    CHECK_FALSE(auth.check(q)); // the page itself, to show the login form
  }
}
