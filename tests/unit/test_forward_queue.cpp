// SPDX-License-Identifier: GPL-3.0-or-later
// Regression tests for S18 (a failed enqueue lost the forward) and the
// sender's lease renewal (A2).
#include "testutil/dicom_factory.hpp"
#include "testutil/temp_dir.hpp"

#include <core/sqlite.hpp>
#include <forward/forwarding_sink.hpp>
#include <forward/sender.hpp>
#include <store/store.hpp>

#include <doctest/doctest.h>

namespace {

long
queued_items(forward::JobStore& jobs, const std::string& destination)
{
  auto list = jobs.list();
  REQUIRE(list);
  long n = 0;
  for (const auto& j : *list) {
    if (j.destination == destination) {
      n += j.pending;
    }
  }
  return n;
}

} // namespace

TEST_SUITE("forward::queue")
{
  TEST_CASE("an instance stored but not queued is queued by the next sink")
  {
    testutil::TempDir dir;
    store::Options options;
    options.root = dir.path();
    options.sync = false;
    auto st = store::Store::open(options);
    REQUIRE(st);
    auto jobs = forward::JobStore::open(dir.path() / "index.sqlite");
    REQUIRE(jobs);
    forward::Options fo;
    fo.destinations.push_back({"pacs", "PACS", "127.0.0.1", 104});
    fo.rules.push_back({"pacs", {}, {}, {}});

    // The queue refuses items, as a full disk or a long lock would.
    core::sqlite::Db other(dir.path() / "index.sqlite");
    other.exec("CREATE TRIGGER refuse BEFORE INSERT ON forward_items "
               "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END");
    {
      forward::ForwardingSink sink(**st, **jobs, fo);
      const store::Origin origin{store::Origin::Kind::dimse, "MODALITY"};
      auto r = sink.ingest(
          testutil::write_instance(sink.spool_path(), testutil::Uids{"1.2", "1.2.3", "1.2.3.4"}),
          origin);
      REQUIRE_MESSAGE(r, r.error().message()); // stored: the C-STORE succeeded
      CHECK(queued_items(**jobs, "pacs") == 0);
    }
    other.exec("DROP TRIGGER refuse");

    // The next process start (a new sink on the same store) catches up.
    forward::ForwardingSink again(**st, **jobs, fo);
    CHECK(queued_items(**jobs, "pacs") == 1);
    auto left = (*jobs)->unqueued();
    REQUIRE(left);
    CHECK(left->empty());

    SUBCASE("a queued instance is not queued twice")
    {
      forward::ForwardingSink third(**st, **jobs, fo);
      CHECK(queued_items(**jobs, "pacs") == 1);
    }
    SUBCASE("a normal ingest leaves no note behind")
    {
      auto r = again.ingest(
          testutil::write_instance(again.spool_path(), testutil::Uids{"1.2", "1.2.3", "1.2.3.5"}),
          {store::Origin::Kind::import, "x"});
      REQUIRE(r);
      CHECK(queued_items(**jobs, "pacs") == 2);
      auto none = (*jobs)->unqueued();
      REQUIRE(none);
      CHECK(none->empty());
    }
  }

  TEST_CASE("the sender renews its lease by time, not by the number of sends")
  {
    // 120 s lease: renewed from 60 s on, whatever was sent meanwhile.
    CHECK_FALSE(forward::lease_due(1000.0, 1000.0, 120));
    CHECK_FALSE(forward::lease_due(1000.0, 1059.9, 120));
    CHECK(forward::lease_due(1000.0, 1060.0, 120));
    CHECK(forward::lease_due(1000.0, 1119.0, 120));
    CHECK(forward::lease_due(1000.0, 5000.0, 120));
  }
}
