// SPDX-License-Identifier: GPL-3.0-or-later
#include "sqlite.hpp"

#include <sqlite3.h>

namespace core::sqlite {

Stmt::Stmt(sqlite3* db, const char* sql) : m_db(db)
{
  if (sqlite3_prepare_v2(db, sql, -1, &m_stmt, nullptr) != SQLITE_OK) {
    throw Error(std::string("prepare: ") + sqlite3_errmsg(db));
  }
}

Stmt::~Stmt() { sqlite3_finalize(m_stmt); }

namespace {

void
check(sqlite3* db, int rc)
{
  if (rc != SQLITE_OK) {
    throw Error(std::string("bind: ") + sqlite3_errmsg(db));
  }
}

} // namespace

Stmt&
Stmt::bind(int i, const std::string& v)
{
  check(m_db, sqlite3_bind_text(m_stmt, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
  return *this;
}

Stmt&
Stmt::bind(int i, std::int64_t v)
{
  check(m_db, sqlite3_bind_int64(m_stmt, i, v));
  return *this;
}

Stmt&
Stmt::bind(int i, double v)
{
  check(m_db, sqlite3_bind_double(m_stmt, i, v));
  return *this;
}

Stmt&
Stmt::bind(int i, const std::optional<long>& v)
{
  check(m_db, v ? sqlite3_bind_int64(m_stmt, i, *v) : sqlite3_bind_null(m_stmt, i));
  return *this;
}

bool
Stmt::step()
{
  const int rc = sqlite3_step(m_stmt);
  if (rc == SQLITE_ROW) {
    return true;
  }
  if (rc == SQLITE_DONE) {
    return false;
  }
  throw Error(std::string("step: ") + sqlite3_errmsg(m_db));
}

void
Stmt::reset()
{
  sqlite3_reset(m_stmt);
  sqlite3_clear_bindings(m_stmt);
}

std::string
Stmt::text(int col) const
{
  const auto* p = sqlite3_column_text(m_stmt, col);
  return p ? std::string(reinterpret_cast<const char*>(p),
                         static_cast<std::size_t>(sqlite3_column_bytes(m_stmt, col)))
           : std::string();
}

std::int64_t
Stmt::int64(int col) const
{
  return sqlite3_column_int64(m_stmt, col);
}

double
Stmt::real(int col) const
{
  return sqlite3_column_double(m_stmt, col);
}

std::optional<long>
Stmt::opt_int(int col) const
{
  if (sqlite3_column_type(m_stmt, col) == SQLITE_NULL) {
    return std::nullopt;
  }
  return static_cast<long>(sqlite3_column_int64(m_stmt, col));
}

Db::Db(const std::filesystem::path& file)
{
  const int rc =
      sqlite3_open_v2(file.c_str(), &m_db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = m_db ? sqlite3_errmsg(m_db) : sqlite3_errstr(rc);
    sqlite3_close(m_db);
    m_db = nullptr;
    throw Error(file.string() + ": " + msg);
  }
  sqlite3_busy_timeout(m_db, 30000);
  exec("PRAGMA journal_mode=WAL");
  // NORMAL in WAL mode survives a process crash (kill -9); after a power
  // loss the store's startup check re-indexes files whose rows were lost.
  exec("PRAGMA synchronous=NORMAL");
  exec("PRAGMA foreign_keys=ON");
}

Db::~Db()
{
  m_cache.clear();
  sqlite3_close(m_db);
}

void
Db::exec(const char* sql)
{
  char* err = nullptr;
  if (sqlite3_exec(m_db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errmsg(m_db);
    sqlite3_free(err);
    throw Error(msg);
  }
}

Stmt&
Db::stmt(const std::string& sql)
{
  auto it = m_cache.find(sql);
  if (it == m_cache.end()) {
    if (m_cache.size() >= k_cache_limit) {
      // Clearing here would free statements callers still hold (a use after
      // free in SqliteIndex::remove()); too many texts is a caller's bug.
      throw Error("statement cache full: run-time SQL must not use Db::stmt()");
    }
    it = m_cache.emplace(sql, std::make_unique<Stmt>(m_db, sql.c_str())).first;
  }
  return *it->second;
}

std::int64_t
Db::last_insert_id() const
{
  return sqlite3_last_insert_rowid(m_db);
}

int
Db::changes() const
{
  return sqlite3_changes(m_db);
}

Transaction::Transaction(Db& db) : m_db(db) { m_db.exec("BEGIN IMMEDIATE"); }

Transaction::~Transaction()
{
  if (!m_done) {
    sqlite3_exec(m_db.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
  }
}

void
Transaction::commit()
{
  m_db.exec("COMMIT");
  m_done = true;
}

} // namespace core::sqlite
