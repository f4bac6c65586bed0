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
    CHECK(error_of("modalities: {pacs: {ae: PACS, host: h}}") == "modalities.pacs.port: missing");
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
    const auto c = config::parse(
      "modalities: {pacs: {ae: PACS, host: 10.0.0.1, port: 104}}\n"
      "forward: {rules: [{to: pacs, source: dimse, modality: [CT, MR]}], retry: {max_attempts: 3}}");
    REQUIRE(c.forward.rules.size() == 1);
    CHECK(c.forward.rules[0].modalities == std::vector<std::string>{"CT", "MR"});
    CHECK(c.forward.rules[0].sources == std::vector<std::string>{"dimse"});
    CHECK(c.forward.max_attempts == 3);
  }
}
