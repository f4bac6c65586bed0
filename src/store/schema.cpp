// SPDX-License-Identifier: GPL-3.0-or-later
// The SQLite index's schema: the one place its tables and columns are named
// (find_sql.cpp's attribute table refers to these columns).
#include "schema.hpp"

namespace store {

const char* const k_index_schema = R"SQL(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT OR IGNORE INTO meta VALUES('schema_version', '1');

CREATE TABLE IF NOT EXISTS patients(
  id INTEGER PRIMARY KEY,
  patient_key TEXT NOT NULL UNIQUE,
  patient_id TEXT NOT NULL,
  issuer_of_patient_id TEXT NOT NULL,
  patient_name TEXT NOT NULL,
  name_alpha TEXT NOT NULL,
  name_ideo TEXT NOT NULL,
  name_phon TEXT NOT NULL,
  birth_date TEXT NOT NULL,
  sex TEXT NOT NULL,
  num_studies INTEGER NOT NULL DEFAULT 0,
  num_series INTEGER NOT NULL DEFAULT 0,
  num_instances INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS patients_patient_id ON patients(patient_id);
CREATE INDEX IF NOT EXISTS patients_name_alpha ON patients(name_alpha);
CREATE INDEX IF NOT EXISTS patients_name_ideo ON patients(name_ideo);
CREATE INDEX IF NOT EXISTS patients_name_phon ON patients(name_phon);

CREATE TABLE IF NOT EXISTS studies(
  id INTEGER PRIMARY KEY,
  patient_fk INTEGER NOT NULL REFERENCES patients(id),
  study_uid TEXT NOT NULL UNIQUE,
  study_date TEXT NOT NULL,
  study_time TEXT NOT NULL,
  accession_number TEXT NOT NULL,
  study_id TEXT NOT NULL,
  description TEXT NOT NULL,
  referring_physician TEXT NOT NULL,
  referring_norm TEXT NOT NULL,
  patient_age TEXT NOT NULL,
  num_series INTEGER NOT NULL DEFAULT 0,
  num_instances INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS studies_patient ON studies(patient_fk);
CREATE INDEX IF NOT EXISTS studies_date ON studies(study_date, study_time);
CREATE INDEX IF NOT EXISTS studies_accession ON studies(accession_number);

CREATE TABLE IF NOT EXISTS series(
  id INTEGER PRIMARY KEY,
  study_fk INTEGER NOT NULL REFERENCES studies(id),
  series_uid TEXT NOT NULL UNIQUE,
  modality TEXT NOT NULL,
  series_number INTEGER,
  description TEXT NOT NULL,
  series_date TEXT NOT NULL,
  series_time TEXT NOT NULL,
  body_part TEXT NOT NULL,
  performing_physician TEXT NOT NULL,
  performing_norm TEXT NOT NULL,
  institution_name TEXT NOT NULL,
  protocol_name TEXT NOT NULL,
  station_name TEXT NOT NULL,
  manufacturer TEXT NOT NULL,
  num_instances INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS series_study ON series(study_fk);
CREATE INDEX IF NOT EXISTS series_modality ON series(modality);

CREATE TABLE IF NOT EXISTS instances(
  id INTEGER PRIMARY KEY,
  series_fk INTEGER NOT NULL REFERENCES series(id),
  sop_uid TEXT NOT NULL UNIQUE,
  sop_class_uid TEXT NOT NULL,
  instance_number INTEGER,
  transfer_syntax TEXT NOT NULL,
  path TEXT NOT NULL,
  size INTEGER NOT NULL,
  creation_date TEXT NOT NULL,
  creation_time TEXT NOT NULL,
  content_date TEXT NOT NULL,
  content_time TEXT NOT NULL,
  image_comments TEXT NOT NULL,
  number_of_frames INTEGER,
  rows INTEGER,
  columns INTEGER,
  charset TEXT NOT NULL,
  charset_note TEXT NOT NULL,
  origin_kind TEXT NOT NULL,
  origin_peer TEXT NOT NULL,
  received_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS instances_series ON instances(series_fk);
-- Stored but not yet queued for forwarding (Origin::mark_unqueued).
CREATE TABLE IF NOT EXISTS unqueued(sop_uid TEXT PRIMARY KEY);
-- Bytes stored, kept by triggers, for storage.max_size_mb.
CREATE TABLE IF NOT EXISTS totals(id INTEGER PRIMARY KEY CHECK (id = 1), bytes INTEGER NOT NULL);
INSERT OR IGNORE INTO totals SELECT 1, COALESCE(SUM(size), 0) FROM instances;
CREATE TRIGGER IF NOT EXISTS instances_size_ai AFTER INSERT ON instances BEGIN
  UPDATE totals SET bytes = bytes + NEW.size WHERE id = 1;
END;
CREATE TRIGGER IF NOT EXISTS instances_size_ad AFTER DELETE ON instances BEGIN
  UPDATE totals SET bytes = bytes - OLD.size WHERE id = 1;
END;
-- Instances deleted from the index whose file may still exist (Store::remove
-- unlinks it, then clears the row; an interrupted delete finishes at open).
CREATE TABLE IF NOT EXISTS tombstones(sop_uid TEXT PRIMARY KEY, path TEXT NOT NULL);

-- Counters kept by triggers, so C-FIND's NumberOf*Related* are O(1).
CREATE TRIGGER IF NOT EXISTS instances_ai AFTER INSERT ON instances BEGIN
  UPDATE series SET num_instances = num_instances + 1 WHERE id = NEW.series_fk;
  UPDATE studies SET num_instances = num_instances + 1
    WHERE id = (SELECT study_fk FROM series WHERE id = NEW.series_fk);
  UPDATE patients SET num_instances = num_instances + 1
    WHERE id = (SELECT patient_fk FROM studies WHERE id =
                (SELECT study_fk FROM series WHERE id = NEW.series_fk));
END;
CREATE TRIGGER IF NOT EXISTS instances_ad AFTER DELETE ON instances BEGIN
  UPDATE series SET num_instances = num_instances - 1 WHERE id = OLD.series_fk;
  UPDATE studies SET num_instances = num_instances - 1
    WHERE id = (SELECT study_fk FROM series WHERE id = OLD.series_fk);
  UPDATE patients SET num_instances = num_instances - 1
    WHERE id = (SELECT patient_fk FROM studies WHERE id =
                (SELECT study_fk FROM series WHERE id = OLD.series_fk));
END;
CREATE TRIGGER IF NOT EXISTS series_ai AFTER INSERT ON series BEGIN
  UPDATE studies SET num_series = num_series + 1 WHERE id = NEW.study_fk;
  UPDATE patients SET num_series = num_series + 1
    WHERE id = (SELECT patient_fk FROM studies WHERE id = NEW.study_fk);
END;
CREATE TRIGGER IF NOT EXISTS series_ad AFTER DELETE ON series BEGIN
  UPDATE studies SET num_series = num_series - 1 WHERE id = OLD.study_fk;
  UPDATE patients SET num_series = num_series - 1
    WHERE id = (SELECT patient_fk FROM studies WHERE id = OLD.study_fk);
END;
CREATE TRIGGER IF NOT EXISTS studies_ai AFTER INSERT ON studies BEGIN
  UPDATE patients SET num_studies = num_studies + 1 WHERE id = NEW.patient_fk;
END;
CREATE TRIGGER IF NOT EXISTS studies_ad AFTER DELETE ON studies BEGIN
  UPDATE patients SET num_studies = num_studies - 1 WHERE id = OLD.patient_fk;
END;
)SQL";

// Columns added after schema 1, as (table, column, definition); added to an
// existing index at open when missing.
const ColumnAddition k_added_columns[] = {
    // cloudfilm protect: never recycled (storage.when_full: recycle).
    {"studies", "protected", "INTEGER NOT NULL DEFAULT 0"},
    // When an instance of the study was last stored: the recycling order.
    {"studies", "last_stored_at", "TEXT NOT NULL DEFAULT ''"},
};
const std::size_t k_added_column_count = sizeof(k_added_columns) / sizeof(k_added_columns[0]);

} // namespace store
