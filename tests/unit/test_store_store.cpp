// SPDX-License-Identifier: GPL-3.0-or-later
#include "testutil/dicom_factory.hpp"
#include "testutil/temp_dir.hpp"

#include <dicom/errors.hpp>
#include <store/errors.hpp>
#include <store/store.hpp>

#include <doctest/doctest.h>

#include <fstream>

namespace {

std::unique_ptr<store::Store>
open(const std::filesystem::path& root,
     store::DuplicatePolicy policy = store::DuplicatePolicy::keep_first)
{
  store::Options options;
  options.root = root;
  options.duplicates = policy;
  auto st = store::Store::open(options);
  REQUIRE_MESSAGE(st, st.error().message());
  return std::move(*st);
}

const store::Origin k_origin{store::Origin::Kind::import, "test"};

long
instance_count(store::Store& st)
{
  auto studies = st.query().studies();
  REQUIRE(studies);
  long n = 0;
  for (const auto& s : *studies) {
    n += s.instance_count;
  }
  return n;
}

} // namespace

TEST_SUITE("store::Store")
{
  TEST_CASE("ingest moves the file into the store and indexes it")
  {
    testutil::TempDir dir;
    auto st = open(dir.path());
    const testutil::Uids uids{"1.2", "1.2.3", "1.2.3.4"};
    const auto file = testutil::write_instance(st->spool_path(), uids);

    const auto result = st->ingest(file, k_origin);

    REQUIRE_MESSAGE(result, result.error().message());
    CHECK_FALSE(result->duplicate);
    CHECK_FALSE(std::filesystem::exists(file)); // moved, not copied
    auto row = st->query().instance("1.2.3.4");
    REQUIRE(row);
    REQUIRE(row->has_value());
    CHECK(std::filesystem::exists(st->root() / (*row)->path));
    CHECK((*row)->path.string().find("1.2.3.4") == std::string::npos); // named by hash
    auto studies = st->query().studies();
    REQUIRE(studies);
    REQUIRE(studies->size() == 1);
    CHECK(studies->front().patient_name == "Test^Patient");
    CHECK(studies->front().modalities == std::vector<std::string>{"CT"});
    CHECK(studies->front().series_count == 1);
    CHECK(studies->front().instance_count == 1);

    SUBCASE("the same SOP instance again is a duplicate, not an error")
    {
      const auto second = st->ingest(testutil::write_instance(st->spool_path(), uids), k_origin);
      REQUIRE(second);
      CHECK(second->duplicate);
      CHECK(instance_count(*st) == 1);
    }
  }

  TEST_CASE("policy reject refuses a duplicate; replace swaps the file")
  {
    testutil::TempDir dir;
    const testutil::Uids uids{"1.2", "1.2.3", "1.2.3.9"};
    {
      auto st = open(dir.path(), store::DuplicatePolicy::reject);
      REQUIRE(st->ingest(testutil::write_instance(st->spool_path(), uids), k_origin));
      const auto again = st->ingest(testutil::write_instance(st->spool_path(), uids), k_origin);
      REQUIRE_FALSE(again);
      CHECK(again.error().code == store::Errc::duplicate_rejected);
    }
    auto st = open(dir.path(), store::DuplicatePolicy::replace);
    testutil::InstanceSpec spec;
    spec.uids = uids;
    spec.patient_name = "Other^Name";
    spec.patient_id = "P2";
    const auto replaced = st->ingest(testutil::write_instance(st->spool_path(), spec), k_origin);
    REQUIRE(replaced);
    CHECK(replaced->replaced);
    auto patients = st->query().patients();
    REQUIRE(patients);
    REQUIRE(patients->size() == 1);
    CHECK(patients->front().patient_name == "Other^Name");
  }

  TEST_CASE("a dataset the store cannot use is refused and its file removed")
  {
    testutil::TempDir dir;
    auto st = open(dir.path());
    testutil::InstanceSpec spec;
    spec.uids = {"1.2", "1.2.3", "1.2.3.5"};
    spec.with_sop_class = false;
    const auto file = testutil::write_instance(st->spool_path(), spec);
    const auto r = st->ingest(file, k_origin);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == dicom::Errc::missing_uid);
    CHECK_FALSE(std::filesystem::exists(file));

    SUBCASE("a claimed SOP Instance UID must match the dataset")
    {
      const auto f =
          testutil::write_instance(st->spool_path(), testutil::Uids{"1.2", "1.2.3", "1.2.3.6"});
      const auto m = st->ingest(f, k_origin, {"", "1.2.3.999"});
      REQUIRE_FALSE(m);
      CHECK(m.error().code == dicom::Errc::uid_mismatch);
    }
    CHECK(instance_count(*st) == 0);
  }

  TEST_CASE("check finds and repairs orphan files, missing files and stray files")
  {
    testutil::TempDir dir;
    std::filesystem::path orphan;
    {
      auto st = open(dir.path());
      for (int i = 0; i < 3; ++i) {
        const testutil::Uids uids{"1.2", "1.2.3", "1.2.3.4." + std::to_string(i)};
        REQUIRE(st->ingest(testutil::write_instance(st->spool_path(), uids), k_origin));
      }
      auto clean = st->check(false);
      REQUIRE(clean);
      CHECK(clean->clean());
      CHECK(clean->files == 3);

      // A file that reached objects/ but not the index (crash between the
      // two), and an index row whose file vanished.
      const std::string sop = "1.2.3.4.99";
      orphan = st->root() / store::FileStore::relative_path_for(sop);
      std::filesystem::create_directories(orphan.parent_path());
      testutil::write_instance(orphan, testutil::Uids{"1.2", "1.2.3", sop});
      auto row = st->query().instance("1.2.3.4.0");
      REQUIRE(row);
      std::filesystem::remove(st->root() / (*row)->path);
      std::ofstream(st->root() / "objects" / "stray.dcm") << "garbage";

      auto report = st->check(false);
      REQUIRE(report);
      CHECK(report->orphan_files == 1);
      CHECK(report->missing_files == 1);
      CHECK(report->unreadable_files == 1);
      CHECK_FALSE(report->clean());

      auto repaired = st->check(true);
      REQUIRE(repaired);
      auto after = st->check(false);
      REQUIRE(after);
      CHECK(after->clean());
      CHECK(instance_count(*st) == 3); // 2 left + the orphan
      CHECK(std::filesystem::exists(st->root() / "quarantine" / "objects" / "stray.dcm"));
    }
  }

  TEST_CASE("a store left by a crashed process is repaired on open")
  {
    testutil::TempDir dir;
    {
      auto st = open(dir.path());
      REQUIRE(st->ingest(
          testutil::write_instance(st->spool_path(), testutil::Uids{"1.2", "1.2.3", "1.2.3.7"}),
          k_origin));
    }
    // Simulate a crash: a stale run lock, a stale spool with a partial file,
    // and an orphan file in objects/.
    std::filesystem::create_directories(dir.path() / "spool" / "999999-0");
    std::ofstream(dir.path() / "spool" / "999999-0" / "0.part") << "partial";
    std::ofstream(dir.path() / "run" / "999999.lock") << "";
    const std::string sop = "1.2.3.8";
    const auto orphan = dir.path() / store::FileStore::relative_path_for(sop);
    std::filesystem::create_directories(orphan.parent_path());
    testutil::write_instance(orphan, testutil::Uids{"1.2", "1.2.3", sop});

    auto st = open(dir.path());
    CHECK_FALSE(std::filesystem::exists(dir.path() / "spool" / "999999-0"));
    CHECK(instance_count(*st) == 2);
  }
}
