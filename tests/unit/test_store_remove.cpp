// SPDX-License-Identifier: GPL-3.0-or-later
// Store::remove: files and index together, an interrupted delete finished at
// the next open, an instance stored again never lost to an old delete.
#include "testutil/dicom_factory.hpp"
#include "testutil/temp_dir.hpp"

#include <store/errors.hpp>
#include <store/store.hpp>

#include <doctest/doctest.h>

#include <algorithm>

namespace fs = std::filesystem;

namespace {

const store::Origin k_origin{store::Origin::Kind::import, "test"};

std::unique_ptr<store::Store>
open_at(const fs::path& root)
{
  store::Options options;
  options.root = root;
  auto st = store::Store::open(options);
  REQUIRE_MESSAGE(st, st.error().message());
  return std::move(*st);
}

// Study 1.1 with series 1.1.1 (two instances) and 1.1.2 (one); study 1.2
// with one instance, same patient.
void
fill(store::Store& st)
{
  for (const auto& u :
       {testutil::Uids{"1.1", "1.1.1", "1.1.1.1"}, testutil::Uids{"1.1", "1.1.1", "1.1.1.2"},
        testutil::Uids{"1.1", "1.1.2", "1.1.2.1"}, testutil::Uids{"1.2", "1.2.1", "1.2.1.1"}}) {
    REQUIRE(st.ingest(testutil::write_instance(st.spool_path(), u), k_origin));
  }
}

fs::path
file_of(store::Store& st, const std::string& sop)
{
  return st.root() / store::FileStore::relative_path_for(sop);
}

std::size_t
object_files(const fs::path& root)
{
  std::size_t n = 0;
  for (const auto& e : fs::recursive_directory_iterator(root / "objects")) {
    n += e.is_regular_file() ? 1 : 0;
  }
  return n;
}

} // namespace

TEST_SUITE("store::remove")
{
  TEST_CASE("a series, then the rest of its study: files, rows and counters go together")
  {
    testutil::TempDir dir;
    auto st = open_at(dir.path());
    fill(*st);
    const auto removed = st->remove(store::Level::series, "1.1.1");
    REQUIRE_MESSAGE(removed, removed.error().message());
    CHECK(*removed == 2);
    CHECK_FALSE(fs::exists(file_of(*st, "1.1.1.1")));
    CHECK_FALSE(fs::exists(file_of(*st, "1.1.1.2")));
    CHECK(fs::exists(file_of(*st, "1.1.2.1")));
    auto studies = st->query().studies();
    REQUIRE(studies);
    REQUIRE(studies->size() == 2);
    for (const auto& s : *studies) {
      CHECK(s.series_count == 1);
      CHECK(s.instance_count == 1);
    }
    CHECK(*st->remove(store::Level::image, "1.1.2.1") == 1); // the study's last instance
    studies = st->query().studies();
    REQUIRE(studies);
    CHECK(studies->size() == 1);
    auto patients = st->query().patients();
    REQUIRE(patients);
    REQUIRE(patients->size() == 1);
    CHECK(patients->front().study_count == 1);
    CHECK(*st->remove(store::Level::study, "1.2") == 1);
    CHECK(st->query().patients()->empty()); // the empty patient goes too
    CHECK(object_files(dir.path()) == 0);
    auto report = st->check(false);
    REQUIRE(report);
    CHECK(report->clean());
  }

  TEST_CASE("nothing matched is 0; a patient is refused")
  {
    testutil::TempDir dir;
    auto st = open_at(dir.path());
    fill(*st);
    CHECK(*st->remove(store::Level::study, "9.9") == 0);
    auto patient = st->remove(store::Level::patient, "P1");
    REQUIRE_FALSE(patient);
    CHECK(patient.error().code == store::FindErrc::bad_unique_key);
    CHECK(object_files(dir.path()) == 4);
  }

  TEST_CASE("a delete interrupted after the index step is finished at the next open")
  {
    testutil::TempDir dir;
    {
      auto st = open_at(dir.path());
      fill(*st);
      // Step 1 only, as if the process died before unlinking.
      auto gone = st->index().remove_entity(store::Level::study, "1.1");
      REQUIRE(gone);
      CHECK(gone->size() == 3);
      CHECK(fs::exists(file_of(*st, "1.1.1.1")));
    }
    auto st = open_at(dir.path());
    CHECK_FALSE(fs::exists(file_of(*st, "1.1.1.1")));
    CHECK(object_files(dir.path()) == 1);
    CHECK(st->index().tombstones()->empty());
    auto report = st->check(false);
    REQUIRE(report);
    CHECK(report->clean()); // no orphan file to be indexed again
  }

  TEST_CASE("an instance stored again after an unfinished delete is kept")
  {
    testutil::TempDir dir;
    {
      auto st = open_at(dir.path());
      fill(*st);
      REQUIRE(st->index().remove_entity(store::Level::image, "1.2.1.1"));
      // The sender stores it again; the old file is still in place.
      const auto again = st->ingest(
          testutil::write_instance(st->spool_path(), testutil::Uids{"1.2", "1.2.1", "1.2.1.1"}),
          k_origin);
      REQUIRE_MESSAGE(again, again.error().message());
      CHECK(st->contains("1.2.1.1"));
    }
    auto st = open_at(dir.path());
    CHECK(st->contains("1.2.1.1"));
    CHECK(fs::exists(file_of(*st, "1.2.1.1")));
    CHECK(st->index().tombstones()->empty());
  }
}

namespace {

std::unique_ptr<store::Store>
open_limited(const fs::path& root, long max_studies, std::uint64_t max_bytes, bool recycle)
{
  store::Options options;
  options.root = root;
  options.max_studies = max_studies;
  options.max_bytes = max_bytes;
  options.recycle = recycle;
  auto st = store::Store::open(options);
  REQUIRE_MESSAGE(st, st.error().message());
  return std::move(*st);
}

core::Result<store::Ingested>
add(store::Store& st, const char* study, const char* series, const char* sop)
{
  return st.ingest(testutil::write_instance(st.spool_path(), testutil::Uids{study, series, sop}),
                   k_origin);
}

std::vector<std::string>
study_uids(store::Store& st)
{
  std::vector<std::string> out;
  const auto studies = st.query().studies();
  REQUIRE(studies);
  for (const auto& s : *studies) {
    out.push_back(s.study_instance_uid);
  }
  std::sort(out.begin(), out.end());
  return out;
}

} // namespace

TEST_SUITE("store::limits")
{
  TEST_CASE("max_studies refusing: the new study is refused, nothing stored is lost")
  {
    testutil::TempDir dir;
    auto st = open_limited(dir.path(), 2, 0, false);
    REQUIRE(add(*st, "1.1", "1.1.1", "1.1.1.1"));
    REQUIRE(add(*st, "1.2", "1.2.1", "1.2.1.1"));
    REQUIRE(add(*st, "1.2", "1.2.1", "1.2.1.2")); // same study: no new study
    auto third = add(*st, "1.3", "1.3.1", "1.3.1.1");
    REQUIRE_FALSE(third);
    CHECK(third.error().code == store::Errc::limit_reached);
    CHECK(third.error().detail.find("storage.max_studies") != std::string::npos);
    CHECK(study_uids(*st) == std::vector<std::string>{"1.1", "1.2"});
    CHECK(object_files(dir.path()) == 3);
    for (const auto& e : fs::recursive_directory_iterator(dir.path() / "spool")) {
      CHECK_MESSAGE((!e.is_regular_file() || e.path().filename() == ".lock"),
                    "refused file left in the spool: " << e.path());
    }
  }

  TEST_CASE("max_studies recycling: the least recently stored unprotected study goes")
  {
    testutil::TempDir dir;
    auto st = open_limited(dir.path(), 2, 0, true);
    REQUIRE(add(*st, "1.1", "1.1.1", "1.1.1.1"));
    REQUIRE(add(*st, "1.2", "1.2.1", "1.2.1.1"));
    REQUIRE(*st->protect("1.1", true));
    REQUIRE(add(*st, "1.3", "1.3.1", "1.3.1.1")); // 1.1 is older but protected: 1.2 goes
    CHECK(study_uids(*st) == std::vector<std::string>{"1.1", "1.3"});
    CHECK(object_files(dir.path()) == 2);
    REQUIRE(*st->protect("1.3", true));
    auto refused = add(*st, "1.4", "1.4.1", "1.4.1.1"); // every other study protected
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == store::Errc::limit_reached);
    CHECK(refused.error().detail.find("protected") != std::string::npos);
    CHECK_FALSE(*st->protect("9.9", true));
    auto report = st->check(false);
    REQUIRE(report);
    CHECK(report->clean());
  }

  TEST_CASE("max_bytes recycling frees what the new instance needs; the counter follows deletes")
  {
    testutil::TempDir dir;
    std::uint64_t one = 0;
    {
      auto probe = open_limited(dir.path() / "probe", 0, 0, false);
      REQUIRE(add(*probe, "9.1", "9.1.1", "9.1.1.1"));
      one = probe->index().usage()->bytes;
    }
    REQUIRE(one > 0);
    auto st = open_limited(dir.path() / "store", 0, 2 * one + one / 2, true);
    REQUIRE(add(*st, "1.1", "1.1.1", "1.1.1.1"));
    REQUIRE(add(*st, "1.2", "1.2.1", "1.2.1.1"));
    CHECK(st->index().usage()->bytes == 2 * one);
    REQUIRE(add(*st, "1.3", "1.3.1", "1.3.1.1"));
    CHECK(study_uids(*st) == std::vector<std::string>{"1.2", "1.3"});
    CHECK(st->index().usage()->bytes == 2 * one);
  }

  TEST_CASE("the disk-free floor refuses, recycling or not")
  {
    testutil::TempDir dir;
    store::Options options;
    options.root = dir.path();
    options.recycle = true;
    options.min_free_bytes = std::uint64_t(1) << 62; // more than any disk has
    auto st = store::Store::open(options);
    REQUIRE(st);
    auto r = add(**st, "1.1", "1.1.1", "1.1.1.1");
    REQUIRE_FALSE(r);
    CHECK(r.error().code == store::Errc::limit_reached);
    CHECK(r.error().detail.find("storage.min_free_mb") != std::string::npos);
  }
}
