// SPDX-License-Identifier: GPL-3.0-or-later
// Regression tests for review findings S3 (statement cache), S17 (replace
// losing the instance) and the quarantine that overwrote earlier copies.
#include "testutil/dicom_factory.hpp"
#include "testutil/temp_dir.hpp"

#include <core/sqlite.hpp>
#include <store/errors.hpp>
#include <store/store.hpp>

#include <doctest/doctest.h>

#include <fstream>

namespace {

namespace fs = std::filesystem;

const store::Origin k_origin{store::Origin::Kind::import, "test"};

// The SQLite index with add() and replace() failing on demand, like a full
// disk after the file was already in place.
class FailingIndex final : public store::Index
{
public:
  explicit FailingIndex(std::unique_ptr<store::Index> inner) : m_inner(std::move(inner)) {}
  bool fail = false;

  core::Result<store::AddOutcome> add(const dicom::InstanceInfo& info,
                                      const store::StoredFile& file,
                                      const store::Origin& origin) override
  {
    if (fail) {
      return core::make_error(store::Errc::index_failed, "database or disk is full");
    }
    return m_inner->add(info, file, origin);
  }
  core::Result<bool> remove(const std::string& sop_uid) override
  {
    return m_inner->remove(sop_uid);
  }
  core::Result<bool> replace(const dicom::InstanceInfo& info, const store::StoredFile& file,
                             const store::Origin& origin) override
  {
    if (fail) {
      return core::make_error(store::Errc::index_failed, "database or disk is full");
    }
    return m_inner->replace(info, file, origin);
  }
  core::Result<std::vector<store::Tombstone>> remove_entity(store::Level level,
                                                            const std::string& uid) override
  {
    return m_inner->remove_entity(level, uid);
  }
  core::Result<store::Usage> usage() override { return m_inner->usage(); }
  core::Result<std::optional<std::string>>
  oldest_unprotected_study(const std::string& except) override
  {
    return m_inner->oldest_unprotected_study(except);
  }
  core::Result<bool> set_protected(const std::string& study_uid, bool on) override
  {
    return m_inner->set_protected(study_uid, on);
  }
  core::Result<std::vector<store::Tombstone>> tombstones() override
  {
    return m_inner->tombstones();
  }
  core::Result<void> clear_tombstones(const std::vector<std::string>& sop_uids) override
  {
    return m_inner->clear_tombstones(sop_uids);
  }
  core::Result<void>
  for_each_file(const std::function<void(const std::string&, const std::string&)>& f) override
  {
    return m_inner->for_each_file(f);
  }
  core::Result<long> check_counters(bool repair) override
  {
    return m_inner->check_counters(repair);
  }
  core::Result<std::vector<store::PatientRow>> patients() override { return m_inner->patients(); }
  core::Result<std::vector<store::StudyRow>> studies() override { return m_inner->studies(); }
  core::Result<std::vector<store::SeriesRow>> series(const std::string& study_uid) override
  {
    return m_inner->series(study_uid);
  }
  core::Result<std::vector<store::InstanceRow>> instances(const std::string& series_uid) override
  {
    return m_inner->instances(series_uid);
  }
  core::Result<std::optional<store::InstanceRow>> instance(const std::string& sop_uid) override
  {
    return m_inner->instance(sop_uid);
  }
  core::Result<store::FindResult> find(const store::FindRequest& request) override
  {
    return m_inner->find(request);
  }
  core::Result<std::vector<store::RetrieveItem>>
  retrieve(const store::FindRequest& request) override
  {
    return m_inner->retrieve(request);
  }

private:
  std::unique_ptr<store::Index> m_inner;
};

std::string
read_all(const fs::path& file)
{
  std::ifstream in(file, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

} // namespace

TEST_SUITE("core::sqlite")
{
  TEST_CASE("a cached statement stays valid while others are prepared")
  {
    testutil::TempDir dir;
    core::sqlite::Db db(dir.path() / "t.sqlite");
    auto& first = db.stmt("SELECT 42");
    for (std::size_t i = 1; i < core::sqlite::Db::k_cache_limit; ++i) {
      db.stmt("SELECT " + std::to_string(i) + " + 0");
    }
    // One more distinct text used to clear the cache, freeing `first`.
    REQUIRE_THROWS_AS(db.stmt("SELECT 'one too many'"), core::sqlite::Error);
    CHECK(&db.stmt("SELECT 42") == &first);
    core::sqlite::Resetter r{first};
    REQUIRE(first.step());
    CHECK(first.int64(0) == 42);
  }
}

TEST_SUITE("store::hardening")
{
  TEST_CASE("many distinct C-FIND shapes, then a replace: remove() keeps its statement")
  {
    testutil::TempDir dir;
    store::Options options;
    options.root = dir.path();
    options.duplicates = store::DuplicatePolicy::replace;
    auto st = store::Store::open(options);
    REQUIRE(st);
    auto& s = **st;
    const testutil::Uids uids{"1.2", "1.2.3", "1.2.3.4"};
    REQUIRE(s.ingest(testutil::write_instance(s.spool_path(), uids), k_origin));
    // UID lists of length 1..600: each a different SQL text, as a peer
    // sending C-FINDs would make them.
    std::string list = "1.2.3.4";
    for (int n = 1; n <= 600; ++n) {
      store::FindRequest request;
      request.level = store::Level::image;
      request.keys.push_back({0x0020000D, "1.2", false});
      request.keys.push_back({0x0020000E, "1.2.3", false});
      request.keys.push_back({0x00080018, list, false});
      auto found = s.query().find(request);
      REQUIRE_MESSAGE(found, found.error().message());
      CHECK(found->matches.size() == 1);
      list += "\\9." + std::to_string(n);
      // A replace between the finds runs remove() at every cache size.
      if (n % 7 == 0) {
        auto again = s.ingest(testutil::write_instance(s.spool_path(), uids), k_origin);
        REQUIRE_MESSAGE(again, again.error().message());
        CHECK(again->replaced);
      }
    }
    CHECK(s.contains("1.2.3.4"));
  }

  TEST_CASE("duplicates: replace keeps the stored instance when indexing the new one fails")
  {
    testutil::TempDir dir;
    store::Options options;
    options.root = dir.path();
    options.duplicates = store::DuplicatePolicy::replace;
    auto sqlite = store::open_sqlite_index(dir.path() / "index.sqlite", dir.path());
    REQUIRE(sqlite);
    auto failing = std::make_unique<FailingIndex>(std::move(*sqlite));
    auto* index = failing.get();
    auto st = store::Store::open(options, std::move(failing));
    REQUIRE(st);
    auto& s = **st;
    const testutil::Uids uids{"1.2", "1.2.3", "1.2.3.4"};
    REQUIRE(s.ingest(testutil::write_instance(s.spool_path(), uids), k_origin));
    const auto stored = s.stored_file("1.2.3.4");
    REQUIRE_FALSE(stored.empty());
    const auto before = read_all(stored);

    index->fail = true;
    testutil::InstanceSpec spec;
    spec.uids = uids;
    spec.patient_name = "Other^Name";
    const auto r = s.ingest(testutil::write_instance(s.spool_path(), spec), k_origin);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == store::Errc::index_failed);

    index->fail = false;
    CHECK(s.contains("1.2.3.4"));
    REQUIRE(fs::exists(stored));
    CHECK(read_all(stored) == before);
    auto patients = s.query().patients();
    REQUIRE(patients);
    REQUIRE(patients->size() == 1);
    CHECK(patients->front().patient_name == "Test^Patient");
    auto report = s.check(false);
    REQUIRE(report);
    CHECK(report->clean());
    CHECK(report->files == 1); // no side file left behind
  }

  TEST_CASE("quarantine never overwrites an earlier quarantined file of the same name")
  {
    testutil::TempDir dir;
    store::Options options;
    options.root = dir.path();
    auto st = store::Store::open(options);
    REQUIRE(st);
    auto& s = **st;
    const auto stray = s.root() / "objects" / "stray.dcm";
    std::ofstream(stray) << "first";
    REQUIRE(s.check(true));
    std::ofstream(stray) << "second";
    REQUIRE(s.check(true));
    std::ofstream(stray) << "third";
    REQUIRE(s.check(true));
    const auto q = s.root() / "quarantine" / "objects";
    CHECK(read_all(q / "stray.dcm") == "first");
    CHECK(read_all(q / "stray.dcm.1") == "second");
    CHECK(read_all(q / "stray.dcm.2") == "third");
    CHECK_FALSE(fs::exists(stray));
  }
}
