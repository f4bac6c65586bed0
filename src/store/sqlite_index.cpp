// SPDX-License-Identifier: GPL-3.0-or-later
// Over 600 lines on purpose: one concern, the SQLite implementation of store::Index (rows,
// counters, queries, deletion, limits); the schema is in schema.cpp.
#include "errors.hpp"
#include "find_sql.hpp"
#include "index.hpp"
#include "schema.hpp"

#include <core/sqlite.hpp>
#include <core/strings.hpp>
#include <core/time.hpp>
#include <dicom/person_name.hpp>

#include <map>
#include <mutex>
#include <stdexcept>

namespace store {

namespace {

using core::sqlite::Resetter;
using core::sqlite::Stmt;
using SqlError = core::sqlite::Error;

const char*
origin_name(Origin::Kind kind)
{
  switch (kind) {
  case Origin::Kind::dimse:
    return "dimse";
  case Origin::Kind::source:
    return "source";
  case Origin::Kind::import:
    return "import";
  }
  return "?";
}

core::Error
index_error(const std::exception& e)
{
  return core::make_error(Errc::index_failed, e.what());
}

class SqliteIndex final : public Index
{
public:
  SqliteIndex(const std::filesystem::path& file, std::filesystem::path root)
      : m_db(file), m_root(std::move(root))
  {
    m_db.exec(k_index_schema);
    for (std::size_t i = 0; i < k_added_column_count; ++i) {
      const auto& c = k_added_columns[i];
      bool present = false;
      Stmt info(m_db.handle(), (std::string("PRAGMA table_info(") + c.table + ")").c_str());
      while (info.step()) {
        present = present || info.text(1) == c.column;
      }
      if (!present) {
        m_db.exec(
            (std::string("ALTER TABLE ") + c.table + " ADD COLUMN " + c.column + " " + c.definition)
                .c_str());
      }
    }
  }

  core::Result<Usage> usage() override
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    try {
      Stmt q(m_db.handle(),
             "SELECT (SELECT bytes FROM totals WHERE id = 1), (SELECT COUNT(*) FROM studies)");
      q.step();
      return Usage{static_cast<std::uint64_t>(q.int64(0)), static_cast<long>(q.int64(1))};
    } catch (const std::exception& e) {
      return index_error(e);
    }
  }

  core::Result<std::optional<std::string>>
  oldest_unprotected_study(const std::string& except) override
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    try {
      Stmt q(m_db.handle(), "SELECT study_uid FROM studies WHERE protected = 0 AND study_uid != ? "
                            "ORDER BY last_stored_at, id LIMIT 1");
      q.bind(1, except);
      if (!q.step()) {
        return std::optional<std::string>();
      }
      return std::optional<std::string>(q.text(0));
    } catch (const std::exception& e) {
      return index_error(e);
    }
  }

  core::Result<bool> set_protected(const std::string& study_uid, bool on) override
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    try {
      Stmt q(m_db.handle(), "UPDATE studies SET protected = ? WHERE study_uid = ?");
      q.bind(1, static_cast<std::int64_t>(on ? 1 : 0));
      q.bind(2, study_uid);
      q.step();
      return m_db.changes() > 0;
    } catch (const std::exception& e) {
      return index_error(e);
    }
  }

  core::Result<AddOutcome> add(const dicom::InstanceInfo& info, const StoredFile& file,
                               const Origin& origin) override
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    try {
      core::sqlite::Transaction tx(m_db);
      const auto outcome = add_rows(info, file, origin);
      tx.commit();
      return outcome;
    } catch (const std::exception& e) {
      return index_error(e);
    }
  }

  core::Result<bool> remove(const std::string& sop_uid) override
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    try {
      core::sqlite::Transaction tx(m_db);
      const bool removed = remove_rows(sop_uid);
      tx.commit();
      return removed;
    } catch (const std::exception& e) {
      return index_error(e);
    }
  }

  core::Result<bool> replace(const dicom::InstanceInfo& info, const StoredFile& file,
                             const Origin& origin) override
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    try {
      core::sqlite::Transaction tx(m_db);
      const bool removed = remove_rows(info.sop_instance_uid);
      add_rows(info, file, origin);
      tx.commit();
      return removed;
    } catch (const std::exception& e) {
      return index_error(e);
    }
  }

  core::Result<std::vector<Tombstone>> remove_entity(Level level, const std::string& uid) override
  {
    const char* column = level == Level::study    ? "st.study_uid"
                         : level == Level::series ? "s.series_uid"
                         : level == Level::image  ? "i.sop_uid"
                                                  : nullptr;
    if (column == nullptr) {
      return core::make_error(FindErrc::bad_unique_key,
                              "delete a study, series or instance, not a patient");
    }
    std::lock_guard<std::mutex> lock(m_mutex);
    try {
      core::sqlite::Transaction tx(m_db);
      std::vector<Tombstone> gone;
      {
        Stmt q(m_db.handle(),
               (std::string("SELECT i.sop_uid, i.path FROM instances i JOIN series s ON "
                            "s.id = i.series_fk JOIN studies st ON st.id = "
                            "s.study_fk WHERE ")
                + column + " = ?")
                   .c_str());
        q.bind(1, uid);
        while (q.step()) {
          gone.push_back({q.text(0), q.text(1)});
        }
      }
      auto& tomb = stmt("INSERT OR REPLACE INTO tombstones(sop_uid, path) VALUES(?, ?)");
      for (const auto& t : gone) {
        remove_rows(t.sop_uid);
        Resetter r{tomb};
        tomb.bind(1, t.sop_uid);
        tomb.bind(2, t.relative_path);
        tomb.step();
      }
      tx.commit();
      return gone;
    } catch (const std::exception& e) {
      return index_error(e);
    }
  }

  core::Result<std::vector<Tombstone>> tombstones() override
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    try {
      std::vector<Tombstone> out;
      Stmt q(m_db.handle(), "SELECT sop_uid, path FROM tombstones ORDER BY sop_uid");
      while (q.step()) {
        out.push_back({q.text(0), q.text(1)});
      }
      return out;
    } catch (const std::exception& e) {
      return index_error(e);
    }
  }

  core::Result<void> clear_tombstones(const std::vector<std::string>& sop_uids) override
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    try {
      core::sqlite::Transaction tx(m_db);
      auto& del = stmt("DELETE FROM tombstones WHERE sop_uid = ?");
      for (const auto& sop : sop_uids) {
        Resetter r{del};
        del.bind(1, sop);
        del.step();
      }
      tx.commit();
      return {};
    } catch (const std::exception& e) {
      return index_error(e);
    }
  }

  core::Result<void>
  for_each_file(const std::function<void(const std::string&, const std::string&)>& f) override
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    try {
      Stmt q(m_db.handle(), "SELECT sop_uid, path FROM instances");
      while (q.step()) {
        f(q.text(0), q.text(1));
      }
      return {};
    } catch (const std::exception& e) {
      return index_error(e);
    }
  }

  core::Result<long> check_counters(bool repair) override
  {
    static constexpr const char* k_checks[][2] = {
        {"SELECT count(*) FROM series s WHERE num_instances != "
         "(SELECT count(*) FROM instances WHERE series_fk = s.id)",
         "UPDATE series SET num_instances = (SELECT count(*) FROM instances WHERE series_fk = "
         "series.id)"},
        {"SELECT count(*) FROM studies st WHERE num_series != (SELECT count(*) FROM series WHERE "
         "study_fk = st.id) OR num_instances != (SELECT count(*) FROM instances i JOIN series s ON "
         "s.id = i.series_fk WHERE s.study_fk = st.id)",
         "UPDATE studies SET num_series = (SELECT count(*) FROM series WHERE study_fk = "
         "studies.id), "
         "num_instances = (SELECT count(*) FROM instances i JOIN series s ON s.id = i.series_fk "
         "WHERE s.study_fk = studies.id)"},
        {"SELECT count(*) FROM patients p WHERE num_studies != (SELECT count(*) FROM studies WHERE "
         "patient_fk = p.id) OR num_series != (SELECT count(*) FROM series s JOIN studies st ON "
         "st.id = s.study_fk WHERE st.patient_fk = p.id) OR num_instances != (SELECT count(*) FROM "
         "instances i JOIN series s ON s.id = i.series_fk JOIN studies st ON st.id = s.study_fk "
         "WHERE st.patient_fk = p.id)",
         "UPDATE patients SET num_studies = (SELECT count(*) FROM studies WHERE patient_fk = "
         "patients.id), num_series = (SELECT count(*) FROM series s JOIN studies st ON st.id = "
         "s.study_fk WHERE st.patient_fk = patients.id), num_instances = (SELECT count(*) FROM "
         "instances i JOIN series s ON s.id = i.series_fk JOIN studies st ON st.id = s.study_fk "
         "WHERE st.patient_fk = patients.id)"},
        {"SELECT (SELECT count(*) FROM series s WHERE NOT EXISTS (SELECT 1 FROM instances WHERE "
         "series_fk = s.id)) + (SELECT count(*) FROM studies st WHERE NOT EXISTS (SELECT 1 FROM "
         "series WHERE study_fk = st.id)) + (SELECT count(*) FROM patients p WHERE NOT EXISTS "
         "(SELECT 1 FROM studies WHERE patient_fk = p.id))",
         "DELETE FROM series WHERE NOT EXISTS (SELECT 1 FROM instances WHERE series_fk = "
         "series.id); DELETE FROM studies WHERE NOT EXISTS (SELECT 1 FROM series WHERE study_fk = "
         "studies.id); DELETE FROM patients WHERE NOT EXISTS (SELECT 1 FROM studies WHERE "
         "patient_fk = patients.id)"},
    };
    std::lock_guard<std::mutex> lock(m_mutex);
    try {
      long wrong = 0;
      for (const auto& check : k_checks) {
        Stmt q(m_db.handle(), check[0]);
        q.step();
        const auto n = q.int64(0);
        wrong += static_cast<long>(n);
        if (n > 0 && repair) {
          m_db.exec(check[1]);
        }
      }
      return wrong;
    } catch (const std::exception& e) {
      return index_error(e);
    }
  }

  core::Result<std::vector<PatientRow>> patients() override
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    try {
      std::vector<PatientRow> rows;
      Stmt q(m_db.handle(),
             "SELECT patient_id, patient_name, birth_date, sex, num_studies, num_series, "
             "num_instances FROM patients ORDER BY patient_name, patient_id");
      while (q.step()) {
        rows.push_back({q.text(0), q.text(1), q.text(2), q.text(3), static_cast<long>(q.int64(4)),
                        static_cast<long>(q.int64(5)), static_cast<long>(q.int64(6))});
      }
      return rows;
    } catch (const std::exception& e) {
      return index_error(e);
    }
  }

  core::Result<std::vector<StudyRow>> studies() override
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    try {
      std::vector<StudyRow> rows;
      Stmt q(m_db.handle(), R"SQL(
        SELECT p.patient_id, p.patient_name, st.study_uid, st.study_date, st.study_time,
               st.accession_number, st.study_id, st.description,
               (SELECT group_concat(m, '\') FROM
                  (SELECT DISTINCT modality AS m FROM series
                   WHERE study_fk = st.id AND modality != '' ORDER BY m)),
               st.num_series, st.num_instances
        FROM studies st JOIN patients p ON p.id = st.patient_fk
        ORDER BY st.study_date DESC, st.study_time DESC, st.id)SQL");
      while (q.step()) {
        StudyRow row;
        row.patient_id = q.text(0);
        row.patient_name = q.text(1);
        row.study_instance_uid = q.text(2);
        row.study_date = q.text(3);
        row.study_time = q.text(4);
        row.accession_number = q.text(5);
        row.study_id = q.text(6);
        row.description = q.text(7);
        const auto mods = q.text(8);
        if (!mods.empty()) {
          row.modalities = core::split(mods, '\\');
        }
        row.series_count = static_cast<long>(q.int64(9));
        row.instance_count = static_cast<long>(q.int64(10));
        rows.push_back(std::move(row));
      }
      return rows;
    } catch (const std::exception& e) {
      return index_error(e);
    }
  }

  core::Result<std::vector<SeriesRow>> series(const std::string& study_uid) override
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    try {
      std::vector<SeriesRow> rows;
      Stmt q(m_db.handle(), R"SQL(
        SELECT st.study_uid, s.series_uid, s.modality, s.series_number, s.description,
               s.series_date, s.series_time, s.body_part, s.num_instances
        FROM series s JOIN studies st ON st.id = s.study_fk
        WHERE st.study_uid = ?
        ORDER BY s.series_number IS NULL, s.series_number, s.series_uid)SQL");
      q.bind(1, study_uid);
      while (q.step()) {
        rows.push_back({q.text(0), q.text(1), q.text(2), q.opt_int(3), q.text(4), q.text(5),
                        q.text(6), q.text(7), static_cast<long>(q.int64(8))});
      }
      return rows;
    } catch (const std::exception& e) {
      return index_error(e);
    }
  }

  core::Result<std::vector<InstanceRow>> instances(const std::string& series_uid) override
  {
    return select_instances("s.series_uid = ?", series_uid);
  }

  core::Result<std::optional<InstanceRow>> instance(const std::string& sop_uid) override
  {
    auto rows = select_instances("i.sop_uid = ?", sop_uid);
    if (!rows) {
      return rows.error();
    }
    if (rows->empty()) {
      return std::optional<InstanceRow>();
    }
    return std::optional<InstanceRow>(std::move(rows->front()));
  }

  core::Result<FindResult> find(const FindRequest& request) override
  {
    FindResult result;
    auto statement = sql::build_find(request, result.unsupported, result.relaxed);
    if (!statement) {
      return statement.error();
    }
    std::lock_guard<std::mutex> lock(m_mutex);
    try {
      // Generated SQL: a local statement, never the cache (see Db::stmt()).
      Stmt q(m_db.handle(), statement->text.c_str());
      for (std::size_t i = 0; i < statement->params.size(); ++i) {
        q.bind(static_cast<int>(i + 1), statement->params[i]);
      }
      const auto& columns = statement->columns;
      while (q.step()) {
        FindMatch match;
        match.values.reserve(columns.size());
        for (std::size_t c = 0; c < columns.size(); ++c) {
          match.values.emplace_back(columns[c], q.text(static_cast<int>(c)));
        }
        result.matches.push_back(std::move(match));
      }
      result.total = result.matches.size();
      if (!statement->count_text.empty()) {
        Stmt count(m_db.handle(), statement->count_text.c_str());
        for (std::size_t i = 0; i < statement->params.size(); ++i) {
          count.bind(static_cast<int>(i + 1), statement->params[i]);
        }
        if (count.step()) {
          result.total = static_cast<std::size_t>(count.int64(0));
        }
      }
      return result;
    } catch (const std::exception& e) {
      return index_error(e);
    }
  }

  core::Result<std::vector<RetrieveItem>> retrieve(const FindRequest& request) override
  {
    auto statement = sql::build_retrieve(request);
    if (!statement) {
      return statement.error();
    }
    std::lock_guard<std::mutex> lock(m_mutex);
    try {
      std::vector<RetrieveItem> items;
      // Generated SQL: a local statement, never the cache (see Db::stmt()).
      Stmt q(m_db.handle(), statement->text.c_str());
      for (std::size_t i = 0; i < statement->params.size(); ++i) {
        q.bind(static_cast<int>(i + 1), statement->params[i]);
      }
      while (q.step()) {
        items.push_back({q.text(0), q.text(1), q.text(2), m_root / q.text(3)});
      }
      return items;
    } catch (const std::exception& e) {
      return index_error(e);
    }
  }

private:
  // The body of add(), inside the caller's transaction.
  AddOutcome add_rows(const dicom::InstanceInfo& info, const StoredFile& file, const Origin& origin)
  {
    const auto patient = upsert_patient(info);
    const auto study = upsert_study(info, patient);
    const auto series = upsert_series(info, study);
    auto& ins = stmt(R"SQL(
      INSERT INTO instances(series_fk, sop_uid, sop_class_uid, instance_number, transfer_syntax,
        path, size, creation_date, creation_time, content_date, content_time, image_comments,
        number_of_frames, rows, columns, charset, charset_note, origin_kind, origin_peer,
        received_at)
      VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
      ON CONFLICT(sop_uid) DO NOTHING)SQL");
    Resetter r{ins};
    ins.bind(1, series)
        .bind(2, info.sop_instance_uid)
        .bind(3, info.sop_class_uid)
        .bind(4, info.instance_number)
        .bind(5, info.transfer_syntax_uid)
        .bind(6, file.relative_path)
        .bind(7, static_cast<std::int64_t>(file.size))
        .bind(8, info.instance_creation_date)
        .bind(9, info.instance_creation_time)
        .bind(10, info.content_date)
        .bind(11, info.content_time)
        .bind(12, info.image_comments)
        .bind(13, info.number_of_frames)
        .bind(14, info.rows)
        .bind(15, info.columns)
        .bind(16, info.specific_character_set)
        .bind(17, info.charset_note)
        .bind(18, std::string(origin_name(origin.kind)))
        .bind(19, origin.peer)
        .bind(20, core::utc_timestamp());
    ins.step();
    const bool added = m_db.changes() > 0;
    if (added) {
      auto& touch = stmt("UPDATE studies SET last_stored_at = ? WHERE id = ?");
      Resetter rt{touch};
      touch.bind(1, core::utc_timestamp());
      touch.bind(2, study);
      touch.step();
      // Stored again after a delete whose file could not be unlinked: the
      // new file is not to be unlinked for the old delete.
      run("DELETE FROM tombstones WHERE sop_uid = ?", info.sop_instance_uid);
    }
    if (added && origin.mark_unqueued) {
      auto& note = stmt("INSERT OR IGNORE INTO unqueued(sop_uid) VALUES(?)");
      Resetter rn{note};
      note.bind(1, info.sop_instance_uid);
      note.step();
    }
    return added ? AddOutcome::added : AddOutcome::already_indexed;
  }

  // The body of remove(), inside the caller's transaction.
  bool remove_rows(const std::string& sop_uid)
  {
    auto& find = stmt(R"SQL(
      SELECT i.id, s.id, st.id, st.patient_fk FROM instances i
      JOIN series s ON s.id = i.series_fk JOIN studies st ON st.id = s.study_fk
      WHERE i.sop_uid = ?)SQL");
    Resetter r{find};
    find.bind(1, sop_uid);
    if (!find.step()) {
      return false;
    }
    const auto instance_id = find.int64(0);
    const auto series_id = find.int64(1);
    const auto study_id = find.int64(2);
    const auto patient_id = find.int64(3);
    run("DELETE FROM unqueued WHERE sop_uid = (SELECT sop_uid FROM instances WHERE id = ?)",
        instance_id);
    run("DELETE FROM instances WHERE id = ?", instance_id);
    run("DELETE FROM series WHERE id = ? AND num_instances <= 0", series_id);
    run("DELETE FROM studies WHERE id = ? AND num_series <= 0", study_id);
    run("DELETE FROM patients WHERE id = ? AND num_studies <= 0", patient_id);
    return true;
  }

  core::Result<std::vector<InstanceRow>> select_instances(const std::string& where,
                                                          const std::string& value)
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    try {
      std::vector<InstanceRow> rows;
      Stmt q(m_db.handle(),
             ("SELECT st.study_uid, s.series_uid, i.sop_uid, i.sop_class_uid, i.instance_number, "
              "i.transfer_syntax, i.path, i.size FROM instances i JOIN series s ON s.id = "
              "i.series_fk JOIN studies st ON st.id = s.study_fk WHERE "
              + where + " ORDER BY i.instance_number IS NULL, i.instance_number, i.sop_uid")
                 .c_str());
      q.bind(1, value);
      while (q.step()) {
        rows.push_back({q.text(0), q.text(1), q.text(2), q.text(3), q.opt_int(4), q.text(5),
                        q.text(6), static_cast<std::uint64_t>(q.int64(7))});
      }
      return rows;
    } catch (const std::exception& e) {
      return index_error(e);
    }
  }

  template <typename T> void run(const char* sql, const T& value)
  {
    auto& s = stmt(sql);
    Resetter r{s};
    s.bind(1, value);
    s.step();
  }

  Stmt& stmt(const char* sql) { return m_db.stmt(sql); }

  std::int64_t select_id(const char* sql, const std::string& key)
  {
    auto& s = stmt(sql);
    Resetter r{s};
    s.bind(1, key);
    if (!s.step()) {
      throw SqlError(std::string("row vanished: ") + sql);
    }
    return s.int64(0);
  }

  std::int64_t upsert_patient(const dicom::InstanceInfo& info)
  {
    // Patients are keyed by ID, issuer and name: cloud films from different
    // hospitals reuse short patient IDs for different people.
    const auto keys = dicom::person_name_keys(info.patient_name);
    const auto key = info.patient_id + '\x1f' + info.issuer_of_patient_id + '\x1f' + keys.alphabetic
                     + '=' + keys.ideographic + '=' + keys.phonetic;
    auto& ins = stmt(R"SQL(
      INSERT INTO patients(patient_key, patient_id, issuer_of_patient_id, patient_name,
        name_alpha, name_ideo, name_phon, birth_date, sex)
      VALUES(?,?,?,?,?,?,?,?,?) ON CONFLICT(patient_key) DO NOTHING)SQL");
    {
      Resetter r{ins};
      ins.bind(1, key)
          .bind(2, info.patient_id)
          .bind(3, info.issuer_of_patient_id)
          .bind(4, info.patient_name)
          .bind(5, keys.alphabetic)
          .bind(6, keys.ideographic)
          .bind(7, keys.phonetic)
          .bind(8, info.patient_birth_date)
          .bind(9, info.patient_sex);
      ins.step();
    }
    return select_id("SELECT id FROM patients WHERE patient_key = ?", key);
  }

  std::int64_t upsert_study(const dicom::InstanceInfo& info, std::int64_t patient)
  {
    auto& ins = stmt(R"SQL(
      INSERT INTO studies(patient_fk, study_uid, study_date, study_time, accession_number,
        study_id, description, referring_physician, referring_norm, patient_age, created_at)
      VALUES(?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(study_uid) DO NOTHING)SQL");
    {
      Resetter r{ins};
      const auto ref = dicom::person_name_keys(info.referring_physician_name);
      ins.bind(1, patient)
          .bind(2, info.study_instance_uid)
          .bind(3, info.study_date)
          .bind(4, info.study_time)
          .bind(5, info.accession_number)
          .bind(6, info.study_id)
          .bind(7, info.study_description)
          .bind(8, info.referring_physician_name)
          .bind(9, ref.alphabetic + '=' + ref.ideographic + '=' + ref.phonetic)
          .bind(10, info.patient_age)
          .bind(11, core::utc_timestamp());
      ins.step();
    }
    return select_id("SELECT id FROM studies WHERE study_uid = ?", info.study_instance_uid);
  }

  std::int64_t upsert_series(const dicom::InstanceInfo& info, std::int64_t study)
  {
    auto& ins = stmt(R"SQL(
      INSERT INTO series(study_fk, series_uid, modality, series_number, description, series_date,
        series_time, body_part, performing_physician, performing_norm, institution_name,
        protocol_name, station_name, manufacturer)
      VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(series_uid) DO NOTHING)SQL");
    {
      Resetter r{ins};
      const auto perf = dicom::person_name_keys(info.performing_physician_name);
      ins.bind(1, study)
          .bind(2, info.series_instance_uid)
          .bind(3, info.modality)
          .bind(4, info.series_number)
          .bind(5, info.series_description)
          .bind(6, info.series_date)
          .bind(7, info.series_time)
          .bind(8, info.body_part_examined)
          .bind(9, info.performing_physician_name)
          .bind(10, perf.alphabetic + '=' + perf.ideographic + '=' + perf.phonetic)
          .bind(11, info.institution_name)
          .bind(12, info.protocol_name)
          .bind(13, info.station_name)
          .bind(14, info.manufacturer);
      ins.step();
    }
    return select_id("SELECT id FROM series WHERE series_uid = ?", info.series_instance_uid);
  }

  core::sqlite::Db m_db;
  std::filesystem::path m_root;
  std::mutex m_mutex;
};

} // namespace

core::Result<std::unique_ptr<Index>>
open_sqlite_index(const std::filesystem::path& file, const std::filesystem::path& root)
{
  try {
    return std::unique_ptr<Index>(std::make_unique<SqliteIndex>(file, root));
  } catch (const std::exception& e) {
    return core::make_error(Errc::index_failed, file.string() + ": " + e.what());
  }
}

} // namespace store
