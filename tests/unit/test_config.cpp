// SPDX-License-Identifier: GPL-3.0-or-later
#include <config/config.hpp>

#include <doctest/doctest.h>

#include <string>

namespace {

std::string
error_of(const std::string& yaml)
{
  try {
    config::parse(yaml);
  } catch (const config::ConfigError& e) {
    return e.what();
  }
  return "";
}

} // namespace

TEST_SUITE("config")
{
  TEST_CASE("an empty file gives the embedded defaults")
  {
    const auto c = config::parse("");
    CHECK(c.node.ae_title == "CLOUDFILM");
    CHECK(c.node.port == 11112);
    CHECK(c.node.check_called_ae == false);
    CHECK(c.storage.duplicates == config::DuplicatePolicy::keep_first);
    CHECK(c.modalities.empty());
  }

  TEST_CASE("a full file is read into the structs")
  {
    const auto c = config::parse(R"(
node:
  ae_title: MYNODE
  bind: 127.0.0.1
  port: 4242
  max_associations: 4
  check_called_ae: true
  allowed_peers:
    - {ae: HOROS}
    - {host: 10.0.0.5}
storage:
  path: /var/lib/cloudfilm
  duplicates: replace
modalities:
  orthanc: {ae: ORTHANC, host: 127.0.0.1, port: 4243}
log:
  level: debug
)");
    CHECK(c.node.ae_title == "MYNODE");
    CHECK(c.node.bind == "127.0.0.1");
    CHECK(c.node.port == 4242);
    CHECK(c.node.max_associations == 4);
    CHECK(c.node.check_called_ae);
    REQUIRE(c.node.allowed_peers.size() == 2);
    CHECK(c.node.allowed_peers[0].ae_title == "HOROS");
    CHECK(c.node.allowed_peers[1].host == "10.0.0.5");
    CHECK(c.storage.path == "/var/lib/cloudfilm");
    CHECK(c.storage.duplicates == config::DuplicatePolicy::replace);
    REQUIRE(c.modalities.count("orthanc") == 1);
    CHECK(c.modalities.at("orthanc").port == 4243);
    CHECK(c.log.level == "debug");
  }

  TEST_CASE("errors name the key and the problem")
  {
    CHECK(error_of("node: {port: 70000}").rfind("node.port: 70000 is out of range", 0) == 0);
    CHECK(error_of("node: {port: abc}").rfind("node.port: 'abc' is not an integer", 0) == 0);
    CHECK(error_of("node: {ae_title: THIS_IS_FAR_TOO_LONG}").rfind("node.ae_title:", 0) == 0);
    CHECK(error_of("node: {bind: 300.1.1.1}").rfind("node.bind:", 0) == 0);
    CHECK(error_of("node: {colour: red}") == "node.colour: unknown key");
    CHECK(error_of("storage: {duplicates: maybe}").rfind("storage.duplicates:", 0) == 0);
    // A host without a port is a peer that may use our services, not a destination.
    CHECK(error_of("modalities: {pacs: {ae: PACS, host: h}}") == "");
    CHECK(error_of("node: [1, 2").rfind("(yaml)", 0) == 0);
    CHECK(error_of("node: {max_pdu: 5001}") == "node.max_pdu: must be even");
    CHECK(error_of("log: {level: loud}").rfind("log.level:", 0) == 0);
  }
}

TEST_SUITE("config")
{
  TEST_CASE("the documented sample configuration parses to the defaults")
  {
    const auto c = config::load(CF_SOURCE_DIR "/etc/cloudfilm.yaml");
    const config::Config d;
    CHECK(c.node.ae_title == d.node.ae_title);
    CHECK(c.node.port == d.node.port);
    CHECK(c.storage.fsync == d.storage.fsync);
    CHECK(c.forward.max_attempts == d.forward.max_attempts);
    CHECK(c.fetch.max_per_host == d.fetch.max_per_host);
    CHECK(c.modalities.empty());
  }

  TEST_CASE("forward rules must name a configured modality")
  {
    CHECK_THROWS_WITH_AS(config::parse("forward: {rules: [{to: nowhere}]}"),
                         "forward.rules[0].to: 'nowhere' is not a configured modality",
                         config::ConfigError);
    const auto c = config::parse("modalities: {pacs: {ae: PACS, host: 10.0.0.1, port: 104}}\n"
                                 "forward: {rules: [{to: pacs, source: dimse, modality: [CT, "
                                 "MR]}], retry: {max_attempts: 3}}");
    REQUIRE(c.forward.rules.size() == 1);
    CHECK(c.forward.rules[0].modalities == std::vector<std::string>{"CT", "MR"});
    CHECK(c.forward.rules[0].sources == std::vector<std::string>{"dimse"});
    CHECK(c.forward.max_attempts == 3);
  }
}

TEST_SUITE("config::access")
{
  TEST_CASE("access defaults: loopback trusted, others echo only")
  {
    const auto c = config::parse("");
    CHECK(c.node.trust_loopback);
    CHECK_FALSE(c.node.accept_store_from_anyone);
    CHECK(c.node.first_pdu_timeout == 5);
    CHECK(c.node.move_to_unknown_caller == 0); // off: an unknown C-MOVE destination is A801
    CHECK(config::parse("node: {move_to_unknown_caller: 11113}").node.move_to_unknown_caller
          == 11113);
    CHECK(error_of("node: {move_to_unknown_caller: 70000}").find("node.move_to_unknown_caller")
          == 0);
  }

  TEST_CASE("a modality may list the services it may use, without a port")
  {
    const auto c = config::parse(R"(
node: {trust_loopback: false, accept_store_from_anyone: true, first_pdu_timeout: 3}
modalities:
  horos: {ae: HOROS, host: 192.168.1.20, allow: [find, get]}
  ct: {ae: CT01, allow: store}
  pacs: {ae: PACS, host: 10.0.0.2, port: 104}
)");
    CHECK_FALSE(c.node.trust_loopback);
    CHECK(c.node.accept_store_from_anyone);
    CHECK(c.node.first_pdu_timeout == 3);
    const auto& horos = c.modalities.at("horos");
    CHECK(horos.allow == std::vector<std::string>{"find", "get"});
    CHECK_FALSE(horos.reachable());
    CHECK(c.modalities.at("ct").allow == std::vector<std::string>{"store"});
    CHECK(c.modalities.at("ct").host.empty());
    CHECK(c.modalities.at("pacs").reachable());
    CHECK(c.modalities.at("pacs").allow.size() == 5);
  }

  TEST_CASE("access errors name the key")
  {
    CHECK(error_of("modalities: {v: {ae: V, allow: [fetch]}}").find("modalities.v.allow") == 0);
    CHECK(error_of("modalities: {v: {ae: V, port: 104}}").find("modalities.v.host") == 0);
    CHECK(error_of("node: {trust_loopback: maybe}").find("node.trust_loopback") == 0);
    CHECK(error_of("node: {first_pdu_timeout: 0}").find("node.first_pdu_timeout") == 0);
  }

  TEST_CASE("a forwarding rule needs a reachable modality")
  {
    CHECK(error_of("modalities: {viewer: {ae: VIEWER}}\nforward: {rules: [{to: viewer}]}")
          == "forward.rules[0].to: modality 'viewer' has no host and port to send to");
  }
}
