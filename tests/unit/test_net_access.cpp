// SPDX-License-Identifier: GPL-3.0-or-later
#include <core/log.hpp>
#include <net/access.hpp>

#include <doctest/doctest.h>

using net::AccessPolicy;
using net::Service;

namespace {

AccessPolicy
clinic()
{
  AccessPolicy p;
  p.peers.push_back({"horos",
                     "HOROS",
                     {"192.168.1.20"},
                     static_cast<unsigned>(Service::echo) | static_cast<unsigned>(Service::find)
                         | static_cast<unsigned>(Service::get)});
  p.peers.push_back({"pacs", "PACS", {}, net::k_all_services});
  return p;
}

} // namespace

TEST_SUITE("net::access")
{
  TEST_CASE("loopback is trusted unless told otherwise")
  {
    auto p = clinic();
    CHECK(net::grant(p, "ANY", "127.0.0.1").services == net::k_all_services);
    CHECK(net::grant(p, "ANY", "127.10.20.30").basis == "loopback");
    p.trust_loopback = false;
    CHECK(net::grant(p, "ANY", "127.0.0.1").services == static_cast<unsigned>(Service::echo));
  }

  TEST_CASE("an unlisted peer on the network may only echo")
  {
    const auto g = net::grant(clinic(), "STRANGER", "10.1.2.3");
    CHECK(g.allows(Service::echo));
    CHECK_FALSE(g.allows(Service::store));
    CHECK_FALSE(g.allows(Service::find));
    CHECK_FALSE(g.allows(Service::get));
    CHECK_FALSE(g.allows(Service::move));
    CHECK(g.basis == "unlisted peer");
  }

  TEST_CASE("accept_store_from_anyone adds C-STORE, nothing else")
  {
    auto p = clinic();
    p.store_from_anyone = true;
    const auto g = net::grant(p, "CT01", "10.1.2.3");
    CHECK(g.allows(Service::store));
    CHECK_FALSE(g.allows(Service::find));
  }

  TEST_CASE("a listed peer gets its entry, from its hosts only")
  {
    const auto p = clinic();
    const auto horos = net::grant(p, "HOROS", "192.168.1.20");
    CHECK(horos.allows(Service::find));
    CHECK(horos.allows(Service::get));
    CHECK_FALSE(horos.allows(Service::store));
    CHECK_FALSE(horos.allows(Service::move));
    CHECK(horos.basis == "modality 'horos'");
    // The same AE title from elsewhere is an unlisted peer.
    CHECK(net::grant(p, "HOROS", "192.168.1.21").basis == "unlisted peer");
    // AE titles are case-sensitive (PS3.5 6.2, AE).
    CHECK(net::grant(p, "horos", "192.168.1.20").basis == "unlisted peer");
    // No host in the entry: any address.
    CHECK(net::grant(p, "PACS", "172.16.0.9").services == net::k_all_services);
  }

  TEST_CASE("the start-up line says who may do what")
  {
    CHECK(net::describe(AccessPolicy{}) == "loopback: all; 0 listed peers; others: echo only");
    CHECK(net::describe(clinic())
          == "loopback: all; 2 listed peers (HOROS@192.168.1.20: echo, find, get; PACS: all); "
             "others: echo only");
  }

  TEST_CASE("refusal comments fit an LO")
  {
    for (auto s : {Service::store, Service::find, Service::get, Service::move}) {
      const auto c = net::refusal_comment(s, net::Grant{});
      CHECK(c.size() <= 64);
      CHECK(c.find("not allowed") != std::string::npos);
    }
  }

  TEST_CASE("is_loopback")
  {
    CHECK(net::is_loopback("127.0.0.1"));
    CHECK(net::is_loopback("127.255.255.254"));
    CHECK_FALSE(net::is_loopback("128.0.0.1"));
    CHECK_FALSE(net::is_loopback("localhost"));
    CHECK_FALSE(net::is_loopback(""));
  }
}

TEST_SUITE("core::log")
{
  TEST_CASE("control characters cannot forge log lines")
  {
    CHECK(core::log::escape_control("EVIL\nINFO [net] forged") == "EVIL\\x0aINFO [net] forged");
    CHECK(core::log::escape_control("a\x1b[31mred") == "a\\x1b[31mred");
    CHECK(core::log::escape_control("王^小明 ok") == "王^小明 ok");
  }
}
