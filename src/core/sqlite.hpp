// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

struct sqlite3;
struct sqlite3_stmt;

// A thin RAII layer over SQLite's C API, shared by the index and the
// forwarding queue. Errors throw core::sqlite::Error; callers catch it at
// their interface and turn it into a Result. Not thread-safe: guard a Db
// with a mutex.
namespace core::sqlite {

struct Error : std::runtime_error
{
  using std::runtime_error::runtime_error;
};

class Stmt
{
public:
  Stmt(sqlite3* db, const char* sql);
  ~Stmt();
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& bind(int i, const std::string& v);
  Stmt& bind(int i, std::int64_t v);
  Stmt& bind(int i, double v);
  Stmt& bind(int i, const std::optional<long>& v);
  // True while there is a row.
  bool step();
  // Reset and clear bindings, for reuse.
  void reset();

  std::string text(int col) const;
  std::int64_t int64(int col) const;
  double real(int col) const;
  std::optional<long> opt_int(int col) const;

private:
  sqlite3* m_db;
  sqlite3_stmt* m_stmt = nullptr;
};

// Resets a statement on scope exit so it can be reused.
struct Resetter
{
  Stmt& stmt;
  ~Resetter() { stmt.reset(); }
};

class Db
{
public:
  // Open (create) `file` in WAL mode with a busy timeout, synchronous=NORMAL
  // and foreign keys on.
  explicit Db(const std::filesystem::path& file);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  sqlite3* handle() const { return m_db; }
  void exec(const char* sql);
  // A prepared statement cached by its text, for the program's fixed SQL.
  // The reference stays valid as long as the Db: the cache never evicts, so
  // a caller may hold one statement while preparing others. SQL built at run
  // time (C-FIND, C-MOVE) must be a local Stmt instead; past
  // k_cache_limit distinct texts stmt() throws Error rather than grow.
  Stmt& stmt(const std::string& sql);
  static constexpr std::size_t k_cache_limit = 512;
  // Rows changed by the last statement.
  int changes() const;
  // Rowid of the last INSERT.
  std::int64_t last_insert_id() const;

private:
  sqlite3* m_db = nullptr;
  std::map<std::string, std::unique_ptr<Stmt>> m_cache;
};

// BEGIN IMMEDIATE ... COMMIT, rolled back if not committed.
class Transaction
{
public:
  explicit Transaction(Db& db);
  ~Transaction();
  void commit();

private:
  Db& m_db;
  bool m_done = false;
};

} // namespace core::sqlite
