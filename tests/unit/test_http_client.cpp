// SPDX-License-Identifier: GPL-3.0-or-later
#include "testutil/http_server.hpp"

#include <http/client.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using testutil::Calls;
using testutil::Fault;
using testutil::HttpRequest;
using testutil::HttpResponse;
using Clock = std::chrono::steady_clock;

// Small timeouts so that every failure path ends within seconds.
http::Options
fast_options()
{
  http::Options options;
  options.retries = 2;
  options.backoff = 20ms;
  options.max_retry_after = 3s;
  options.connect_timeout = 2s;
  options.timeout = 5s;
  options.idle_timeout = 2s;
  return options;
}

http::Request
get(const std::string& url, http::Expect expect = http::Expect::any)
{
  http::Request request;
  request.url = url;
  request.expect = expect;
  return request;
}

double
seconds_since(Clock::time_point start)
{
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// A Part 10 file as far as the content check looks: preamble, "DICM", a
// group 0002 element.
std::string
fake_part10()
{
  std::string data(128, '\0');
  data += "DICM";
  data += std::string("\x02\x00\x10\x00UI\x14\x00", 8) + "1.2.840.10008.1.2.1\0";
  return data;
}

bool
has_header(const HttpRequest& request, const std::string& name)
{
  for (const auto& header : request.headers) {
    if (header.first == name) {
      return true;
    }
  }
  return false;
}

std::string
http_date(std::time_t when)
{
  char text[64];
  std::tm tm{};
  gmtime_r(&when, &tm);
  std::strftime(text, sizeof(text), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return text;
}

} // namespace

TEST_SUITE("http::Client")
{
  TEST_CASE("a GET returns status, body and lower-cased headers; default headers are sent")
  {
    testutil::HttpServer server;
    server.route("GET", "/hello", [](const HttpRequest&) {
      return HttpResponse::text("hi").header("X-Thing", "42");
    });
    http::Client client(fast_options());

    auto request = get(server.url("/hello"));
    request.headers = {{"Accept", "text/plain"}, {"Referer", "https://example.test/"}};
    const auto response = client.send(request);

    REQUIRE_MESSAGE(response, response.error().message());
    CHECK(response->status == 200);
    CHECK(response->body == "hi");
    CHECK(response->url == server.url("/hello"));
    CHECK(response->header("x-thing") == "42");
    CHECK(response->header("X-Thing") == "42");
    CHECK(response->header("content-type") == "text/plain; charset=utf-8");
    CHECK(response->header("missing").empty());

    const auto seen = server.requests();
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].header("user-agent") == http::Options{}.user_agent);
    CHECK(seen[0].header("accept-language") == "zh,zh-CN;q=0.7,en;q=0.3");
    CHECK(seen[0].header("accept") == "text/plain"); // the request's own replaces the default
    CHECK(seen[0].header("referer") == "https://example.test/");
    CHECK(seen[0].header("accept-encoding").find("gzip") != std::string::npos);
    CHECK(client.stats().requests == 1);
    CHECK(client.stats().retries == 0);
    CHECK(client.stats().bytes == 2);
  }

  TEST_CASE("redirects are followed and cookies set on the way are sent back verbatim")
  {
    testutil::HttpServer server;
    server.route("GET", "/login", [](const HttpRequest&) {
      return HttpResponse::redirect("/home?x=1")
          .header("Set-Cookie", "sid=a+b/c%2F==; Path=/")
          .header("Set-Cookie", "quoted=\"v 1,2\"; Path=/; HttpOnly")
          .header("X-Only-On-Redirect", "yes");
    });
    server.route("GET", "/home", [](const HttpRequest& r) {
      return HttpResponse::text("cookies: " + r.header("cookie"));
    });
    http::Client client(fast_options());

    const auto response = client.send(get(server.url("/login")));

    REQUIRE_MESSAGE(response, response.error().message());
    CHECK(response->status == 200);
    CHECK(response->url == server.url("/home?x=1"));
    CHECK(response->header("x-only-on-redirect").empty()); // last response only
    const auto home = server.requests("/home");
    REQUIRE(home.size() == 1);
    CHECK(home[0].cookie("sid") == "a+b/c%2F==");
    CHECK(home[0].cookie("quoted") == "\"v 1,2\"");
    CHECK(client.cookie("127.0.0.1", "sid") == "a+b/c%2F==");
    CHECK(client.cookie("127.0.0.1", "quoted") == "\"v 1,2\"");
    CHECK(client.cookie("127.0.0.1", "nope").empty());
    CHECK(client.cookie("other.test", "sid").empty());
  }

  TEST_CASE("with follow_redirects off the 3xx itself is returned")
  {
    testutil::HttpServer server;
    server.route("GET", "/a", [](const HttpRequest&) { return HttpResponse::redirect("/b", 301); });
    http::Client client(fast_options());

    auto request = get(server.url("/a"));
    request.follow_redirects = false;
    const auto response = client.send(request);

    REQUIRE_MESSAGE(response, response.error().message());
    CHECK(response->status == 301);
    CHECK(response->header("location") == "/b");
    CHECK(server.count("/b") == 0);
  }

  TEST_CASE("a POST sends its body, and a 303 after it becomes a GET")
  {
    testutil::HttpServer server;
    server.route("POST", "/report",
                 [](const HttpRequest&) { return HttpResponse::redirect("/result", 303); });
    server.route("GET", "/result", [](const HttpRequest&) { return HttpResponse::text("done"); });
    http::Client client(fast_options());

    http::Request request;
    request.method = "POST";
    request.url = server.url("/report");
    request.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
    request.body = "id=" + http::url_encode("5c1e-9") + "&Password=" + http::url_encode("a+b c&");
    const auto response = client.send(request);

    REQUIRE_MESSAGE(response, response.error().message());
    CHECK(response->body == "done");
    const auto posts = server.requests("/report");
    REQUIRE(posts.size() == 1);
    CHECK(posts[0].form("id") == "5c1e-9");
    CHECK(posts[0].form("Password") == "a+b c&");
    CHECK_FALSE(has_header(posts[0], "expect")); // no 100-continue round trip
    REQUIRE(server.requests("/result").size() == 1);
    CHECK(server.requests("/result")[0].method == "GET");
  }

  TEST_CASE("cookies follow a host name across ports (CURLOPT_RESOLVE)")
  {
    testutil::HttpServer report;
    testutil::HttpServer viewer;
    const std::string host = "test.medicalimagecloud.com";
    const std::string viewer_origin = "http://" + host + ":" + std::to_string(viewer.port());
    report.route("GET", "/share", [&](const HttpRequest&) {
      return HttpResponse::redirect(viewer_origin + "/entry")
          .header("Set-Cookie", "ASP.NET_SessionId=k3y+/=; path=/")
          .header("Set-Cookie", "wide=1; Domain=medicalimagecloud.com; Path=/")
          .header("Set-Cookie", "secure_only=1; Path=/; Secure");
    });
    viewer.route("GET", "/entry", [](const HttpRequest& r) {
      return HttpResponse::text(r.cookie("ASP.NET_SessionId"));
    });
    auto options = fast_options();
    options.resolve = {host + ":" + std::to_string(report.port()) + ":127.0.0.1",
                       host + ":" + std::to_string(viewer.port()) + ":127.0.0.1"};
    http::Client client(options);

    const auto response =
        client.send(get("http://" + host + ":" + std::to_string(report.port()) + "/share"));

    REQUIRE_MESSAGE(response, response.error().message());
    CHECK(response->url == viewer_origin + "/entry");
    CHECK(response->body == "k3y+/=");
    CHECK(viewer.requests("/entry").at(0).header("host")
          == host + ":" + std::to_string(viewer.port()));
    CHECK(client.cookie(host, "ASP.NET_SessionId") == "k3y+/=");
    CHECK(client.cookie("TEST.medicalimagecloud.com", "ASP.NET_SessionId") == "k3y+/=");
    CHECK(client.cookie("other.medicalimagecloud.com", "ASP.NET_SessionId").empty());
    CHECK(client.cookie("other.medicalimagecloud.com", "wide") == "1"); // Domain= attribute
    CHECK(viewer.requests("/entry").at(0).cookie("wide") == "1");
    // libcurl drops a Secure cookie that arrives over plain http: replicas
    // serving http must not mark their cookies Secure.
    CHECK(client.cookie(host, "secure_only").empty());
  }

  TEST_CASE("a 4xx fails at once with the status and the URL")
  {
    testutil::HttpServer server;
    http::Client client(fast_options());
    const auto url = server.url("/gone");

    const auto response = client.send(get(url));

    REQUIRE_FALSE(response);
    CHECK(response.error().code == http::Errc::http_status);
    CHECK(response.error().detail == "HTTP 404 for " + url);
    CHECK(server.requests().size() == 1);
    CHECK(client.stats().retries == 0);
  }

  TEST_CASE("5xx is retried with backoff until it succeeds")
  {
    testutil::HttpServer server;
    server.route("GET", "/list", [](const HttpRequest&) { return HttpResponse::json("[]"); });
    server.fault("/list", Fault::http_status(503).on(Calls::nth(1)));
    server.fault("/list", Fault::http_status(500).on(Calls::nth(2)));
    http::Client client(fast_options());

    const auto response = client.send(get(server.url("/list"), http::Expect::json));

    REQUIRE_MESSAGE(response, response.error().message());
    CHECK(response->body == "[]");
    CHECK(server.count("/list") == 3);
    CHECK(client.stats().retries == 2);
    CHECK(client.stats().requests == 1);
  }

  TEST_CASE("5xx after the last retry is an http_status error naming the tries")
  {
    testutil::HttpServer server;
    server.route("GET", "/list", [](const HttpRequest&) { return HttpResponse::json("[]"); });
    server.fault("/list", Fault::http_status(502));
    http::Client client(fast_options());

    const auto response = client.send(get(server.url("/list")));

    REQUIRE_FALSE(response);
    CHECK(response.error().code == http::Errc::http_status);
    CHECK(response.error().detail == "HTTP 502 for " + server.url("/list") + " (after 3 tries)");
    CHECK(server.count("/list") == 3);
  }

  TEST_CASE("a POST is retried only when the request allows it")
  {
    testutil::HttpServer server;
    server.route("POST", "/verify", [](const HttpRequest&) { return HttpResponse::json("{}"); });
    server.fault("/verify", Fault::http_status(503).on(Calls::nth(1)));
    http::Client client(fast_options());
    http::Request request;
    request.method = "POST";
    request.url = server.url("/verify");
    request.body = "a=1";

    SUBCASE("retry off: one try")
    {
      request.retry = false;
      const auto response = client.send(request);
      REQUIRE_FALSE(response);
      CHECK(response.error().code == http::Errc::http_status);
      CHECK(server.count("/verify") == 1);
    }
    SUBCASE("retry off: not even libcurl's silent resend on a reused connection")
    {
      request.retry = false;
      server.reset();
      REQUIRE(client.send(request)); // leaves a kept-alive connection
      server.fault("/verify", Fault::reset().on(Calls::nth(2)));
      const auto response = client.send(request);
      REQUIRE_FALSE(response);
      CHECK(response.error().code == http::Errc::transfer_failed);
      CHECK(server.count("/verify") == 2);
    }
    SUBCASE("retry on: tried again, with the body again")
    {
      request.body = "a=" + std::string(100000, '1'); // large: no Expect: 100-continue either
      const auto response = client.send(request);
      REQUIRE_MESSAGE(response, response.error().message());
      const auto seen = server.requests("/verify");
      REQUIRE(seen.size() == 2);
      CHECK(seen[1].body == request.body);
      CHECK_FALSE(has_header(seen[1], "expect"));
    }
  }

  TEST_CASE("429 waits for Retry-After in seconds or as an HTTP date, capped")
  {
    testutil::HttpServer server;
    server.route("GET", "/img", [](const HttpRequest&) { return HttpResponse::binary("x"); });
    auto options = fast_options();
    options.backoff = 10ms;
    http::Client client(options);
    const auto start = Clock::now();

    SUBCASE("seconds")
    {
      server.fault("/img", Fault::rate_limit("1").on(Calls::nth(1)));
      REQUIRE(client.send(get(server.url("/img"))));
      CHECK(seconds_since(start) >= 0.9);
      CHECK(seconds_since(start) < 2.5);
    }
    SUBCASE("HTTP date")
    {
      server.fault("/img", Fault::rate_limit(http_date(std::time(nullptr) + 2)).on(Calls::nth(1)));
      REQUIRE(client.send(get(server.url("/img"))));
      CHECK(seconds_since(start) >= 0.9); // whole seconds: 1 to 2 s from now
      CHECK(seconds_since(start) < 3.0);
    }
    SUBCASE("capped by max_retry_after")
    {
      server.fault("/img", Fault::rate_limit("3600").on(Calls::nth(1)));
      options.max_retry_after = 1s;
      http::Client capped(options);
      REQUIRE(capped.send(get(server.url("/img"))));
      CHECK(seconds_since(start) >= 0.9);
      CHECK(seconds_since(start) < 2.5);
    }
    SUBCASE("without the header: exponential backoff")
    {
      server.fault("/img", Fault::rate_limit(std::nullopt).on(Calls::first_n(2)));
      REQUIRE(client.send(get(server.url("/img"))));
      CHECK(seconds_since(start) < 1.0); // 10 ms + 20 ms, +-20 %
      CHECK(server.count("/img") == 3);
    }
    SUBCASE("503 with Retry-After is treated alike")
    {
      server.fault("/img", Fault::rate_limit("1", 503).on(Calls::nth(1)));
      REQUIRE(client.send(get(server.url("/img"))));
      CHECK(seconds_since(start) >= 0.9);
    }
  }

  TEST_CASE("a slow first byte hits the per-try timeout and the retry succeeds")
  {
    testutil::HttpServer server;
    server.route("GET", "/study", [](const HttpRequest&) { return HttpResponse::json("{}"); });
    server.fault("/study", Fault::delay_first_byte(3s).on(Calls::nth(1)));
    http::Client client(fast_options());
    auto request = get(server.url("/study"), http::Expect::json);
    request.timeout = 1s;
    const auto start = Clock::now();

    const auto response = client.send(request);

    REQUIRE_MESSAGE(response, response.error().message());
    CHECK(server.count("/study") == 2);
    CHECK(seconds_since(start) < 2.5);
  }

  TEST_CASE("timeouts are reported as Errc::timeout")
  {
    testutil::HttpServer server;
    server.route("GET", "/study", [](const HttpRequest&) { return HttpResponse::json("{}"); });
    server.fault("/study", Fault::delay_first_byte(2s));
    auto options = fast_options();
    options.retries = 0;
    http::Client client(options);
    auto request = get(server.url("/study"));
    request.timeout = 1s;

    const auto response = client.send(request);

    REQUIRE_FALSE(response);
    CHECK(response.error().code == http::Errc::timeout);
    CHECK(response.error().detail.find(server.url("/study")) != std::string::npos);
  }

  TEST_CASE("a body that stalls midway hits the idle timeout and is fetched again")
  {
    testutil::HttpServer server;
    const std::string file = fake_part10() + std::string(100000, 'p');
    server.route("GET", "/file", [&](const HttpRequest&) { return HttpResponse::binary(file); });
    server.fault("/file", Fault::stall_after(1000).on(Calls::nth(1)));
    auto options = fast_options();
    options.idle_timeout = 1s;
    http::Client client(options);
    const auto start = Clock::now();

    const auto response = client.send(get(server.url("/file"), http::Expect::dicom));
    // (timing: ~1 s idle + the retry)

    REQUIRE_MESSAGE(response, response.error().message());
    CHECK(response->body == file);
    CHECK(server.count("/file") == 2);
    CHECK(seconds_since(start) < 2.5);
  }

  TEST_CASE("no response headers within idle_timeout is a timeout too")
  {
    testutil::HttpServer server;
    server.route("GET", "/study", [](const HttpRequest&) { return HttpResponse::json("{}"); });
    server.fault("/study", Fault::delay_first_byte(3s));
    auto options = fast_options();
    options.retries = 0;
    options.idle_timeout = 1s;
    http::Client client(options);
    const auto start = Clock::now();

    const auto response = client.send(get(server.url("/study")));

    REQUIRE_FALSE(response);
    CHECK(response.error().code == http::Errc::timeout);
    CHECK(response.error().detail == "No data received in 1 s for " + server.url("/study"));
    CHECK(seconds_since(start) < 2.0);
  }

  TEST_CASE("a slow but steady body is not mistaken for a stall")
  {
    testutil::HttpServer server;
    const std::string file = fake_part10() + std::string(3000, 'p');
    server.route("GET", "/file", [&](const HttpRequest&) { return HttpResponse::binary(file); });
    server.fault("/file", Fault::drip(2000)); // about 1.6 s in 200-byte steps
    auto options = fast_options();
    options.idle_timeout = 1s;
    http::Client client(options);

    const auto response = client.send(get(server.url("/file"), http::Expect::dicom));

    REQUIRE_MESSAGE(response, response.error().message());
    CHECK(response->body == file);
    CHECK(server.count("/file") == 1);
  }

  TEST_CASE("a body shorter than its Content-Length is an error, never a response")
  {
    testutil::HttpServer server;
    const std::string file = fake_part10() + std::string(5000, 'p');
    server.route("GET", "/file", [&](const HttpRequest&) { return HttpResponse::binary(file); });
    server.fault("/file", Fault::truncate(2000).on(Calls::nth(1)));
    auto options = fast_options();

    SUBCASE("without retries")
    {
      options.retries = 0;
      http::Client client(options);
      const auto response = client.send(get(server.url("/file")));
      REQUIRE_FALSE(response);
      CHECK(response.error().code == http::Errc::transfer_failed);
    }
    SUBCASE("retried")
    {
      http::Client client(options);
      const auto response = client.send(get(server.url("/file")));
      REQUIRE_MESSAGE(response, response.error().message());
      CHECK(response->body == file);
    }
  }

  TEST_CASE("chunked encoding without the last chunk is a transfer failure")
  {
    testutil::HttpServer server;
    server.route("GET", "/list",
                 [](const HttpRequest&) { return HttpResponse::json(R"({"series":[1,2,3]})"); });
    server.fault("/list", Fault::truncate_chunked(5));
    auto options = fast_options();
    options.retries = 1;
    http::Client client(options);

    const auto response = client.send(get(server.url("/list")));

    REQUIRE_FALSE(response);
    CHECK(response.error().code == http::Errc::transfer_failed);
    CHECK(server.count("/list") == 2);
  }

  TEST_CASE("a TCP reset is retried")
  {
    testutil::HttpServer server;
    server.route("GET", "/img",
                 [](const HttpRequest&) { return HttpResponse::binary("0123456789"); });
    auto options = fast_options();
    http::Client client(options);

    SUBCASE("instead of a response") { server.fault("/img", Fault::reset().on(Calls::nth(1))); }
    SUBCASE("in the middle of the body")
    {
      server.fault("/img", Fault::reset(4).on(Calls::nth(1)));
    }
    const auto response = client.send(get(server.url("/img")));

    REQUIRE_MESSAGE(response, response.error().message());
    CHECK(response->body == "0123456789");
    CHECK(server.count("/img") == 2);
    CHECK(client.stats().retries == 1);
  }

  TEST_CASE("an HTML page with 200 where DICOM is expected is unexpected_content")
  {
    testutil::HttpServer server;
    server.route("GET", "/file",
                 [](const HttpRequest&) { return HttpResponse::binary(fake_part10()); });
    server.fault("/file", Fault::soft_error_html());
    auto options = fast_options();
    options.retries = 1;
    http::Client client(options);
    const auto url = server.url("/file");

    const auto response = client.send(get(url, http::Expect::dicom));

    REQUIRE_FALSE(response);
    CHECK(response.error().code == http::Errc::unexpected_content);
    CHECK(response.error().detail == "HTML page instead of DICOM from " + url + " (after 2 tries)");
    CHECK(server.count("/file") == 2);

    SUBCASE("once only: the retry gets the file")
    {
      server.reset();
      server.fault("/file", Fault::soft_error_html().on(Calls::nth(1)));
      const auto again = client.send(get(url, http::Expect::dicom));
      REQUIRE_MESSAGE(again, again.error().message());
      CHECK(again->body == fake_part10());
    }
  }

  TEST_CASE("content checks for each Expect")
  {
    testutil::HttpServer server;
    std::string body;
    server.route("GET", "/x", [&](const HttpRequest&) { return HttpResponse::binary(body); });
    auto options = fast_options();
    options.retries = 0;
    http::Client client(options);
    const auto accepted = [&](std::string content, http::Expect expect) {
      body = std::move(content);
      return static_cast<bool>(client.send(get(server.url("/x"), expect)));
    };

    CHECK(accepted(R"({"code":0,"msg":null})", http::Expect::json));
    CHECK(accepted("\xEF\xBB\xBF[1]", http::Expect::json)); // BOM
    CHECK_FALSE(accepted(R"({"code":0,)", http::Expect::json));
    CHECK_FALSE(accepted("<html>login</html>", http::Expect::json));
    CHECK_FALSE(accepted("", http::Expect::json));

    CHECK(accepted(fake_part10(), http::Expect::dicom));
    CHECK(accepted(std::string("\x08\x00\x05\x00\x43\x53\x0a\x00ISO_IR 192", 18),
                   http::Expect::dicom));
    CHECK(accepted(std::string("\x02\x00\x00\x00\x55\x4c\x04\x00\x10\x00\x00\x00", 12),
                   http::Expect::dicom));
    CHECK_FALSE(accepted(std::string(200, 'x'), http::Expect::dicom));
    CHECK_FALSE(accepted("\n  <!DOCTYPE html><html></html>", http::Expect::dicom));

    CHECK(accepted(std::string("\xFF\x4F\xFF\x51", 4), http::Expect::jpeg2000_or_raw));
    CHECK(accepted(std::string(64, '\0'), http::Expect::jpeg2000_or_raw));
    CHECK_FALSE(accepted("  <html><body>expired</body></html>", http::Expect::jpeg2000_or_raw));

    CHECK(accepted("<html></html>", http::Expect::html));
    CHECK(accepted("anything", http::Expect::html));
    CHECK(accepted("", http::Expect::any));

    body = R"({"code":1005})";
    const auto json_for_dicom = client.send(get(server.url("/x"), http::Expect::dicom));
    REQUIRE_FALSE(json_for_dicom);
    CHECK(json_for_dicom.error().detail == "JSON instead of DICOM from " + server.url("/x"));
  }

  TEST_CASE("gzip-encoded bodies are decoded")
  {
    testutil::HttpServer server;
    const std::string json = R"({"studies":[)" + std::string(5000, ' ') + "]}";
    server.route("GET", "/list", [&](const HttpRequest&) { return HttpResponse::json(json); });
    server.fault("/list", Fault::gzip());
    http::Client client(fast_options());

    const auto response = client.send(get(server.url("/list"), http::Expect::json));

    REQUIRE_MESSAGE(response, response.error().message());
    CHECK(response->header("content-encoding") == "gzip");
    CHECK(response->body == json);
  }

  TEST_CASE("a misleading Content-Type does not matter")
  {
    testutil::HttpServer server;
    server.route("GET", "/api",
                 [](const HttpRequest&) { return HttpResponse::json(R"({"a":1})"); });
    server.fault("/api", Fault::wrong_type("text/html"));
    http::Client client(fast_options());

    const auto response = client.send(get(server.url("/api"), http::Expect::json));

    REQUIRE_MESSAGE(response, response.error().message());
    CHECK(response->header("content-type") == "text/html");
  }

  TEST_CASE("a refused connection is connect_failed after a few tries")
  {
    unsigned short port = 0;
    {
      testutil::HttpServer gone;
      port = gone.port();
    }
    auto options = fast_options();
    options.retries = 5;
    http::Client client(options);

    const auto response = client.send(get("http://127.0.0.1:" + std::to_string(port) + "/"));

    REQUIRE_FALSE(response);
    CHECK(response.error().code == http::Errc::connect_failed);
    CHECK(client.stats().retries == 2);
  }

  TEST_CASE("connections are kept alive between requests, with the cookies")
  {
    testutil::HttpServer server;
    server.route("GET", "/*", [](const HttpRequest& r) {
      return HttpResponse::text(r.path).header("Set-Cookie", "n=" + r.path.substr(1));
    });
    http::Client client(fast_options());

    for (int i = 0; i < 3; ++i) {
      REQUIRE(client.send(get(server.url("/n" + std::to_string(i)))));
    }

    const auto seen = server.requests();
    REQUIRE(seen.size() == 3);
    CHECK(server.connections() == 1);
    CHECK(seen[2].connection == seen[0].connection);
    CHECK_FALSE(has_header(seen[0], "cookie"));
    CHECK(seen[1].cookie("n") == "n0");
    CHECK(seen[2].cookie("n") == "n1");
  }

  TEST_CASE("spaces and non-ASCII bytes in a URL are percent-encoded")
  {
    testutil::HttpServer server;
    server.route("GET", "/*", [](const HttpRequest& r) { return HttpResponse::text(r.target); });
    http::Client client(fast_options());

    const auto response = client.send(get(server.url("/a b/\xE4\xB8\xAD?q=1 2&r=%2B")));

    REQUIRE_MESSAGE(response, response.error().message());
    CHECK(response->body == "/a%20b/%E4%B8%AD?q=1%202&r=%2B");
  }

  TEST_CASE("requests in flight per host stay within max_per_host")
  {
    testutil::HttpServer server;
    server.route("GET", "/login", [](const HttpRequest&) {
      return HttpResponse::text("in").header("Set-Cookie", "token=t0k; Path=/");
    });
    server.route("GET", "/slow", [](const HttpRequest&) {
      std::this_thread::sleep_for(100ms);
      return HttpResponse::text("ok");
    });
    auto options = fast_options();
    options.max_per_host = 3;
    http::Client client(options);
    REQUIRE(client.send(get(server.url("/login"))));
    std::atomic<int> ok{0};

    std::vector<std::thread> threads;
    for (int i = 0; i < 16; ++i) {
      threads.emplace_back([&] {
        if (client.send(get(server.url("/slow")))) {
          ++ok;
        }
      });
    }
    for (auto& t : threads) {
      t.join();
    }

    CHECK(ok == 16);
    CHECK(server.count("/slow") == 16);
    CHECK(server.peak_in_flight() <= 3);
    CHECK(server.peak_in_flight() >= 2); // and the bound is not one
    CHECK(server.connections() <= 4);    // kept alive, not one connection per request
    for (const auto& r : server.requests("/slow")) {
      CHECK(r.cookie("token") == "t0k"); // one jar for every pooled handle
    }
  }

  TEST_CASE("cancel aborts a stalled transfer within a second")
  {
    testutil::HttpServer server;
    server.route("GET", "/file", [](const HttpRequest&) {
      return HttpResponse::binary(fake_part10() + std::string(100000, 'p'));
    });
    server.fault("/file", Fault::stall_after(500));
    auto options = fast_options();
    options.idle_timeout = 30s;
    options.timeout = 60s;
    http::Client client(options);
    std::optional<core::Result<http::Response>> result;

    std::thread worker([&] { result.emplace(client.send(get(server.url("/file")))); });
    std::this_thread::sleep_for(300ms);
    const auto start = Clock::now();
    client.cancel();
    worker.join();

    CHECK(seconds_since(start) < 1.0);
    REQUIRE(result);
    REQUIRE_FALSE(*result);
    CHECK(result->error().code == http::Errc::cancelled);

    const auto later = client.send(get(server.url("/file")));
    REQUIRE_FALSE(later);
    CHECK(later.error().code == http::Errc::cancelled);
    CHECK(server.count("/file") == 1);
  }

  TEST_CASE("cancel cuts short the wait before a retry")
  {
    testutil::HttpServer server;
    server.route("GET", "/img", [](const HttpRequest&) { return HttpResponse::binary("x"); });
    server.fault("/img", Fault::rate_limit("30"));
    auto options = fast_options();
    options.max_retry_after = 60s;
    http::Client client(options);
    std::optional<core::Result<http::Response>> result;

    std::thread worker([&] { result.emplace(client.send(get(server.url("/img")))); });
    std::this_thread::sleep_for(300ms);
    const auto start = Clock::now();
    client.cancel();
    worker.join();

    CHECK(seconds_since(start) < 1.0);
    REQUIRE(result);
    REQUIRE_FALSE(*result);
    CHECK(result->error().code == http::Errc::cancelled);
  }
}

TEST_SUITE("http::url")
{
  TEST_CASE("url_encode keeps RFC 3986 unreserved characters only")
  {
    CHECK(http::url_encode("AZaz09-._~") == "AZaz09-._~");
    CHECK(http::url_encode("a b+c/d=e&f") == "a%20b%2Bc%2Fd%3De%26f");
    CHECK(http::url_encode("5fbcVzmBJNUsw53#") == "5fbcVzmBJNUsw53%23");
    CHECK(http::url_encode("\xE7\x8E\x8B") == "%E7%8E%8B");
    CHECK(http::url_encode("").empty());
  }

  TEST_CASE("query parameters are taken after the last question mark")
  {
    const auto shdc = http::query_after_last_question_mark(
        "https://ylyyx.shdc.org.cn/#/home?sid=1&token=a%2Bb+c");
    CHECK(shdc.size() == 2);
    CHECK(shdc.at("sid") == "1");
    CHECK(shdc.at("token") == "a+b c");

    const auto zs = http::query_after_last_question_mark(
        "https://zscloud.zs-hospital.sh.cn/film/#/shared?code=X%3D");
    CHECK(zs.at("code") == "X=");

    const auto two = http::query_after_last_question_mark("https://h/p?a=1#/x?b=2&c&d=&b=3");
    CHECK(two.count("a") == 0);
    CHECK(two.at("b") == "2"); // the first of repeated names
    CHECK(two.at("c").empty());
    CHECK(two.at("d").empty());

    CHECK(http::query_after_last_question_mark("https://h/p?x=1#frag").at("x") == "1");
    CHECK(http::query_after_last_question_mark("https://h/p?x=%zz%4").at("x") == "%zz%4");
    CHECK(http::query_after_last_question_mark("https://h/p").empty());
    CHECK(http::query_after_last_question_mark("https://h/p?").empty());
  }

  TEST_CASE("origin_of and host_of")
  {
    CHECK(http::origin_of("http://Test.MedicalImageCloud.com:8080/entry/viewimage?token=x")
          == "http://test.medicalimagecloud.com:8080");
    CHECK(http::origin_of("https://ylyyx.shdc.org.cn/#/home?sid=1") == "https://ylyyx.shdc.org.cn");
    CHECK(http::origin_of("https://h.test:443/a") == "https://h.test");
    CHECK(http::origin_of("http://127.0.0.1:5000") == "http://127.0.0.1:5000");
    CHECK(http::origin_of("/relative/path").empty());
    CHECK(http::origin_of("").empty());

    CHECK(http::host_of("HTTPS://Test.MedicalImageCloud.com:8443/x")
          == "test.medicalimagecloud.com");
    CHECK(http::host_of("http://user:pw@mdmis.cq12320.cn/a?b") == "mdmis.cq12320.cn");
    CHECK(http::host_of("http://127.0.0.1:1/") == "127.0.0.1");
    CHECK(http::host_of("not a url").empty());
  }

  TEST_CASE("resolve_url follows RFC 3986 5.4")
  {
    const std::string base = "http://a/b/c/d;p?q";
    const std::pair<const char*, const char*> vectors[] = {
        // 5.4.1 normal examples
        {"g:h", "g:h"},
        {"g", "http://a/b/c/g"},
        {"./g", "http://a/b/c/g"},
        {"g/", "http://a/b/c/g/"},
        {"/g", "http://a/g"},
        {"//g", "http://g"},
        {"?y", "http://a/b/c/d;p?y"},
        {"g?y", "http://a/b/c/g?y"},
        {"#s", "http://a/b/c/d;p?q#s"},
        {"g#s", "http://a/b/c/g#s"},
        {"g?y#s", "http://a/b/c/g?y#s"},
        {";x", "http://a/b/c/;x"},
        {"g;x", "http://a/b/c/g;x"},
        {"g;x?y#s", "http://a/b/c/g;x?y#s"},
        {"", "http://a/b/c/d;p?q"},
        {".", "http://a/b/c/"},
        {"./", "http://a/b/c/"},
        {"..", "http://a/b/"},
        {"../", "http://a/b/"},
        {"../g", "http://a/b/g"},
        {"../..", "http://a/"},
        {"../../", "http://a/"},
        {"../../g", "http://a/g"},
        // 5.4.2 abnormal examples
        {"../../../g", "http://a/g"},
        {"../../../../g", "http://a/g"},
        {"/./g", "http://a/g"},
        {"/../g", "http://a/g"},
        {"g.", "http://a/b/c/g."},
        {".g", "http://a/b/c/.g"},
        {"g..", "http://a/b/c/g.."},
        {"..g", "http://a/b/c/..g"},
        {"./../g", "http://a/b/g"},
        {"./g/.", "http://a/b/c/g/"},
        {"g/./h", "http://a/b/c/g/h"},
        {"g/../h", "http://a/b/c/h"},
        {"g;x=1/./y", "http://a/b/c/g;x=1/y"},
        {"g;x=1/../y", "http://a/b/c/y"},
        {"g?y/./x", "http://a/b/c/g?y/./x"},
        {"g?y/../x", "http://a/b/c/g?y/../x"},
        {"g#s/./x", "http://a/b/c/g#s/./x"},
        {"g#s/../x", "http://a/b/c/g#s/../x"},
        {"http:g", "http:g"},
    };
    for (const auto& [ref, expected] : vectors) {
      CAPTURE(ref);
      CHECK(http::resolve_url(base, ref) == expected);
    }
  }

  TEST_CASE("resolve_url on viewer URLs")
  {
    // A fragment holding a path is not part of the base path.
    CHECK(http::resolve_url("https://ylyyx.shdc.org.cn/#/home?sid=1", "api001/share_verify?x=1")
          == "https://ylyyx.shdc.org.cn/api001/share_verify?x=1");
    CHECK(http::resolve_url("http://h.test:8080/report/index", "/Study/ViewImage?studyId=a_b-1")
          == "http://h.test:8080/Study/ViewImage?studyId=a_b-1");
    CHECK(http::resolve_url("https://h.test/a/b", "//cdn.test/x.dcm") == "https://cdn.test/x.dcm");
    CHECK(http::resolve_url("https://h.test/a/b?old=1", "?page=2") == "https://h.test/a/b?page=2");
    CHECK(http::resolve_url("https://h.test", "x") == "https://h.test/x");
    CHECK(http::resolve_url("https://h.test/a/", "http://other.test:81/y/../z")
          == "http://other.test:81/z");
  }
}

TEST_SUITE("http::client limits")
{
  TEST_CASE("a body over the request's cap fails once, with the cap in the message")
  {
    testutil::HttpServer server;
    server.route("GET", "/big", [](const HttpRequest&) {
      return HttpResponse::binary(fake_part10() + std::string(5000, 'p'));
    });
    http::Client client(fast_options());
    auto request = get(server.url("/big"), http::Expect::dicom);
    request.max_body_bytes = 1000;

    const auto response = client.send(request);

    REQUIRE_FALSE(response);
    CHECK(response.error().code == http::Errc::transfer_failed);
    CHECK(response.error().detail.find("response larger than 1000 bytes") != std::string::npos);
    CHECK(server.count("/big") == 1); // not retried: the next try is as large

    request.max_body_bytes = 6000; // the same body under a larger cap
    CHECK(client.send(request));
  }

  TEST_CASE("a gzip bomb stops at the cap on the decoded body")
  {
    testutil::HttpServer server;
    // 8 MiB of zeros compress to some 8 KiB: Content-Length is small, so
    // only the check on the decoded bytes can stop it.
    server.route("GET", "/bomb", [](const HttpRequest&) {
      return HttpResponse::binary(std::string(8 << 20, '\0'));
    });
    server.fault("/bomb", Fault::gzip());
    // Generous timeouts: under TSan, compressing the body takes seconds, and a
    // timeout would be retried, which is not what this test is about.
    auto options = fast_options();
    options.timeout = 120s;
    options.idle_timeout = 60s;
    http::Client client(options);
    auto request = get(server.url("/bomb"));
    request.max_body_bytes = 1 << 20;

    const auto response = client.send(request);

    REQUIRE_FALSE(response);
    CHECK_MESSAGE(response.error().detail.find("response larger than 1048576 bytes")
                      != std::string::npos,
                  response.error().detail);
    CHECK(server.count("/bomb") == 1);
  }

  TEST_CASE("the default cap depends on what is expected")
  {
    const std::uint64_t mib = 1024 * 1024;
    CHECK(http::default_max_body(http::Expect::dicom) == 2048 * mib);
    CHECK(http::default_max_body(http::Expect::jpeg2000_or_raw) == 2048 * mib);
    CHECK(http::default_max_body(http::Expect::any) == 2048 * mib);
    CHECK(http::default_max_body(http::Expect::json) == 256 * mib);
    CHECK(http::default_max_body(http::Expect::html) == 256 * mib);
  }

  TEST_CASE("error details carry the URL without its query")
  {
    testutil::HttpServer server;
    http::Client client(fast_options());

    const auto response = client.send(get(server.url("/gone?token=s3cret&x=1#frag")));

    REQUIRE_FALSE(response);
    CHECK(response.error().detail == "HTTP 404 for " + server.url("/gone"));
  }
}

TEST_SUITE("http::url redaction")
{
  TEST_CASE("redact_url drops query, fragment, user info and Hinacom path tokens")
  {
    CHECK(http::redact_url("https://a.example/share?token=abc&x=1") == "https://a.example/share");
    CHECK(http::redact_url("https://a.example/#/home?sid=1&token=2") == "https://a.example/");
    CHECK(http::redact_url("http://h:8080/p/q") == "http://h:8080/p/q");
    CHECK(http::redact_url("https://user:pw@h.example/x?c=pass") == "https://h.example/x");
    CHECK(http::redact_url("https://h.example/a@b/c") == "https://h.example/a@b/c");
    const std::string token = "0123456789abcdef0123456789ABCDEF";
    CHECK(http::redact_url("https://h.example/t/" + token) == "https://h.example/t/<token>");
    CHECK(http::redact_url("https://h.example/t/" + token + "/ImageViewer/StudyView?x=1")
          == "https://h.example/t/<token>/ImageViewer/StudyView");
    // Not 32 hex digits: not a token.
    CHECK(http::redact_url("https://h.example/t/abc") == "https://h.example/t/abc");
    const std::string longer = "https://h.example/t/" + token + "0";
    CHECK(http::redact_url(longer) == longer);
    CHECK(http::redact_url("") == "");
  }

  TEST_CASE("redirects after an https URL may only go to https")
  {
    // The test server has no TLS, so the decision handed to
    // CURLOPT_REDIR_PROTOCOLS_STR is tested on its own.
    CHECK(std::string(http::redirect_protocols("https://a.example/x")) == "https");
    CHECK(std::string(http::redirect_protocols("HTTPS://a.example/x")) == "https");
    CHECK(std::string(http::redirect_protocols("http://a.example/x")) == "http,https");
  }
}
