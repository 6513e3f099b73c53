// Fault injection (issue 16), in the spirit of SQLite's own test VFS
// (src/test_vfs.c) and leveldb's FaultInjectionTestEnv: a SQLite VFS that
// passes everything to the real one ("unix") except that it fails the Nth
// write, fsync or read of a command with EIO or ENOSPC. For every N over
// the command's own writes, fsyncs and reads (counted in a clean run first),
// the command, run on a copy of the same database:
//   - returns an error (no exception crosses the engine) of one line,
//     naming the database error, or succeeds (a failure SQLite itself
//     recovers from, such as a checkpoint after the commit);
//   - leaves the database, read by a fresh connection, equal to the one
//     before the command or to the one after the whole command, never a mix;
//   - leaves the store usable: the same Engine runs the command again once
//     the disk is back, and the database then equals the clean run's.
// Commands: open, record, import (one batch), tick, task done, rebuild.
#include <catch2/catch.hpp>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include <SQLiteCpp/SQLiteCpp.h>

#include "persistence/store.hpp"
#include "store_fixture.hpp"

using namespace zorgpad;
using namespace zorgpad::test;
using nlohmann::json;

namespace {

// ---- the failing VFS ------------------------------------------------------------------
enum class Op { write, sync, read };
const char* op_name(Op op) { return op == Op::write ? "write" : op == Op::sync ? "fsync" : "read"; }

struct Plan {
  std::atomic<bool> counting{false};
  std::atomic<int64_t> seen[3]{};  // per Op, since the plan was armed
  std::atomic<int64_t> nth{0};     // fail this one of `op` (1-based); 0: none
  Op op = Op::write;
  int code = SQLITE_IOERR;  // what the failing call returns
  std::atomic<bool> fired{false};
};
Plan g_plan;
sqlite3_vfs* g_real = nullptr;

struct FaultFile {
  sqlite3_file base;
  sqlite3_file* real;  // the real VFS's file, allocated right after this struct
};
sqlite3_file* real_of(sqlite3_file* f) { return reinterpret_cast<FaultFile*>(f)->real; }

// Counts one call of `op`; true when it is the one to fail.
bool fail_now(Op op) {
  if (!g_plan.counting) return false;
  int64_t n = ++g_plan.seen[int(op)];
  if (g_plan.nth > 0 && op == g_plan.op && n == g_plan.nth) {
    g_plan.fired = true;
    return true;
  }
  return false;
}

int f_close(sqlite3_file* f) { return real_of(f)->pMethods->xClose(real_of(f)); }
int f_read(sqlite3_file* f, void* buf, int n, sqlite3_int64 off) {
  if (fail_now(Op::read)) return g_plan.code;
  return real_of(f)->pMethods->xRead(real_of(f), buf, n, off);
}
int f_write(sqlite3_file* f, const void* buf, int n, sqlite3_int64 off) {
  if (fail_now(Op::write)) return g_plan.code;
  return real_of(f)->pMethods->xWrite(real_of(f), buf, n, off);
}
int f_truncate(sqlite3_file* f, sqlite3_int64 size) { return real_of(f)->pMethods->xTruncate(real_of(f), size); }
int f_sync(sqlite3_file* f, int flags) {
  if (fail_now(Op::sync)) return g_plan.code;
  return real_of(f)->pMethods->xSync(real_of(f), flags);
}
int f_size(sqlite3_file* f, sqlite3_int64* size) { return real_of(f)->pMethods->xFileSize(real_of(f), size); }
int f_lock(sqlite3_file* f, int l) { return real_of(f)->pMethods->xLock(real_of(f), l); }
int f_unlock(sqlite3_file* f, int l) { return real_of(f)->pMethods->xUnlock(real_of(f), l); }
int f_check(sqlite3_file* f, int* out) { return real_of(f)->pMethods->xCheckReservedLock(real_of(f), out); }
int f_control(sqlite3_file* f, int op, void* arg) { return real_of(f)->pMethods->xFileControl(real_of(f), op, arg); }
int f_sector(sqlite3_file* f) { return real_of(f)->pMethods->xSectorSize(real_of(f)); }
int f_device(sqlite3_file* f) { return real_of(f)->pMethods->xDeviceCharacteristics(real_of(f)); }
int f_shm_map(sqlite3_file* f, int pg, int sz, int extend, void volatile** p) {
  return real_of(f)->pMethods->xShmMap(real_of(f), pg, sz, extend, p);
}
int f_shm_lock(sqlite3_file* f, int off, int n, int flags) { return real_of(f)->pMethods->xShmLock(real_of(f), off, n, flags); }
void f_shm_barrier(sqlite3_file* f) { real_of(f)->pMethods->xShmBarrier(real_of(f)); }
int f_shm_unmap(sqlite3_file* f, int del) { return real_of(f)->pMethods->xShmUnmap(real_of(f), del); }
// No memory-mapped I/O (every read goes through xRead, where it is counted).
int f_fetch(sqlite3_file*, sqlite3_int64, int, void** p) {
  *p = nullptr;
  return SQLITE_OK;
}
int f_unfetch(sqlite3_file*, sqlite3_int64, void*) { return SQLITE_OK; }

const sqlite3_io_methods kMethods = {3,        f_close,  f_read,    f_write,        f_truncate,     f_sync,
                                     f_size,   f_lock,   f_unlock,  f_check,        f_control,      f_sector,
                                     f_device, f_shm_map, f_shm_lock, f_shm_barrier, f_shm_unmap, f_fetch,
                                     f_unfetch};

int v_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* f, int flags, int* out) {
  auto* ff = reinterpret_cast<FaultFile*>(f);
  ff->real = reinterpret_cast<sqlite3_file*>(ff + 1);
  int rc = g_real->xOpen(g_real, name, ff->real, flags, out);
  ff->base.pMethods = ff->real->pMethods ? &kMethods : nullptr;
  return rc;
}
int v_delete(sqlite3_vfs*, const char* name, int sync) { return g_real->xDelete(g_real, name, sync); }
int v_access(sqlite3_vfs*, const char* name, int flags, int* out) { return g_real->xAccess(g_real, name, flags, out); }
int v_full(sqlite3_vfs*, const char* name, int n, char* out) { return g_real->xFullPathname(g_real, name, n, out); }
void* v_dlopen(sqlite3_vfs*, const char* name) { return g_real->xDlOpen(g_real, name); }
void v_dlerror(sqlite3_vfs*, int n, char* out) { g_real->xDlError(g_real, n, out); }
void (*v_dlsym(sqlite3_vfs*, void* h, const char* sym))(void) { return g_real->xDlSym(g_real, h, sym); }
void v_dlclose(sqlite3_vfs*, void* h) { g_real->xDlClose(g_real, h); }
int v_random(sqlite3_vfs*, int n, char* out) { return g_real->xRandomness(g_real, n, out); }
int v_sleep(sqlite3_vfs*, int us) { return g_real->xSleep(g_real, us); }
int v_time(sqlite3_vfs*, double* out) { return g_real->xCurrentTime(g_real, out); }
int v_error(sqlite3_vfs*, int n, char* out) { return g_real->xGetLastError(g_real, n, out); }
int v_time64(sqlite3_vfs*, sqlite3_int64* out) { return g_real->xCurrentTimeInt64(g_real, out); }

// Makes the failing VFS the default one while it lives (every connection
// opened meanwhile goes through it; disarmed, it only passes calls on).
struct FaultVfs {
  sqlite3_vfs vfs{};
  FaultVfs() {
    g_real = sqlite3_vfs_find(nullptr);
    REQUIRE(g_real != nullptr);
    vfs.iVersion = 2;
    vfs.szOsFile = int(sizeof(FaultFile)) + g_real->szOsFile;
    vfs.mxPathname = g_real->mxPathname;
    vfs.zName = "zorgpad-fault";
    vfs.xOpen = v_open;
    vfs.xDelete = v_delete;
    vfs.xAccess = v_access;
    vfs.xFullPathname = v_full;
    vfs.xDlOpen = v_dlopen;
    vfs.xDlError = v_dlerror;
    vfs.xDlSym = v_dlsym;
    vfs.xDlClose = v_dlclose;
    vfs.xRandomness = v_random;
    vfs.xSleep = v_sleep;
    vfs.xCurrentTime = v_time;
    vfs.xGetLastError = v_error;
    vfs.xCurrentTimeInt64 = v_time64;
    REQUIRE(sqlite3_vfs_register(&vfs, 1) == SQLITE_OK);
  }
  ~FaultVfs() {
    disarm();
    sqlite3_vfs_unregister(&vfs);
  }
  static void count() { arm(Op::write, 0, SQLITE_OK); }
  static void arm(Op op, int64_t nth, int code) {
    g_plan.counting = false;
    for (auto& s : g_plan.seen) s = 0;
    g_plan.op = op;
    g_plan.nth = nth;
    g_plan.code = code;
    g_plan.fired = false;
    g_plan.counting = true;
  }
  static void disarm() { g_plan.counting = false; }
  static int64_t seen(Op op) { return g_plan.seen[int(op)]; }
};

// ---- the database, as a fresh connection reads it --------------------------------------
// Every table, every row (sorted), and the schema version.
std::string dump(const std::string& path) {
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  std::ostringstream out;
  out << "user_version " << db.execAndGet("PRAGMA user_version").getInt() << "\n";
  std::vector<std::string> tables;
  SQLite::Statement t(db, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name");
  while (t.executeStep()) tables.push_back(t.getColumn(0).getString());
  for (const auto& name : tables) {
    SQLite::Statement q(db, "SELECT * FROM \"" + name + "\"");
    std::vector<std::string> rows;  // sorted: some tables are WITHOUT ROWID
    while (q.executeStep()) {
      std::string row;
      for (int i = 0; i < q.getColumnCount(); ++i) {
        auto c = q.getColumn(i);
        row += (c.isNull() ? std::string("NULL") : c.getString()) + "\x1f";
      }
      rows.push_back(std::move(row));
    }
    std::sort(rows.begin(), rows.end());
    out << "table " << name << "\n";
    for (const auto& r : rows) out << r << "\n";
  }
  return out.str();
}

void copy_db(const std::string& from, const std::string& to) {
  namespace fs = std::filesystem;
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) fs::remove(to + suffix);
  // The base is closed: its file and its write-ahead log are the database.
  fs::copy_file(from, to);
  if (fs::exists(from + "-wal")) fs::copy_file(from + "-wal", to + "-wal");
}

Event ev(const char* text) { return zorgpad::test::ev(json::parse(text)); }

void open_treated(Store& s, const std::string& id, const char* at) {
  std::string d = at;
  take(s.open(id, "P-" + id, ev(("{\"type\": \"open\", \"at\": \"" + d + R"(", "onset": "2026-01-01", "complaint": "lbp", "age": 50})").c_str())));
  take(s.record(id, ev(("{\"type\": \"screening\", \"at\": \"" + d + R"(", "red_flags": [], "exclusions": []})").c_str()), std::nullopt));
  take(s.record(id, ev(("{\"type\": \"measurement\", \"at\": \"" + d + R"(", "nprs": 6, "qbpds": 40})").c_str()), std::nullopt));
  take(s.record(id, ev(("{\"type\": \"stratification\", \"at\": \"" + d + R"(", "factors": {"leg_pain": "present"}})").c_str()),
                std::nullopt));
}

// A command under test: `prepare` builds the database before it (fault
// free), `run` is the command; an error is returned as its message.
struct Command {
  std::string name;
  std::function<void(Store&, const std::string& path)> prepare;
  std::function<std::optional<std::string>(Store&)> run;
};

template <typename T>
std::optional<std::string> error_of(const Expected<T>& r) {
  if (r.ok()) return std::nullopt;
  return r.message();
}

struct Counts {
  int64_t runs = 0, failed = 0, before = 0, after = 0, absorbed = 0;
};

void exercise(const Command& cmd) {
  FaultVfs fault;
  TempDir dir;
  ManualClock clock(day("2026-01-05"));
  const std::string base = dir.file("base.db"), work = dir.file("work.db");
  {
    auto s = take(open_sqlite_store(base, clock));
    cmd.prepare(*s, base);
  }
  const std::string before = dump(base);

  // The clean run: what the command writes, and how many calls it makes.
  copy_db(base, work);
  int64_t calls[3];
  {
    auto s = take(open_sqlite_store(work, clock));
    FaultVfs::count();
    auto err = cmd.run(*s);
    FaultVfs::disarm();
    INFO(cmd.name << ": " << err.value_or(""));
    REQUIRE_FALSE(err);
    for (Op op : {Op::write, Op::sync, Op::read}) calls[int(op)] = FaultVfs::seen(op);
  }
  const std::string after = dump(work);
  REQUIRE(after != before);  // the command writes something
  REQUIRE(calls[int(Op::write)] > 0);
  REQUIRE(calls[int(Op::sync)] > 0);  // synchronous=FULL: the commit is synced

  struct Fault {
    Op op;
    int code;
    const char* what;
  };
  const Fault faults[] = {{Op::write, SQLITE_IOERR_WRITE, "EIO"},
                          {Op::write, SQLITE_FULL, "ENOSPC"},
                          {Op::sync, SQLITE_IOERR_FSYNC, "EIO"},
                          {Op::read, SQLITE_IOERR_READ, "EIO"}};
  Counts counts;
  for (const Fault& f : faults) {
    for (int64_t n = 1; n <= calls[int(f.op)]; ++n) {
      INFO(cmd.name << ": " << op_name(f.op) << " " << n << " of " << calls[int(f.op)] << " fails with " << f.what);
      copy_db(base, work);
      auto s = take(open_sqlite_store(work, clock));
      FaultVfs::arm(f.op, n, f.code);
      std::optional<std::string> err;
      try {
        err = cmd.run(*s);
      } catch (const std::exception& e) {
        FaultVfs::disarm();
        FAIL("an exception crossed the engine: " << e.what());
      }
      FaultVfs::disarm();
      ++counts.runs;
      // The call counts of a run are the clean run's up to the failure.
      REQUIRE(g_plan.fired);
      std::string now = dump(work);
      if (err) {
        ++counts.failed;
        INFO("error: " << *err);
        CHECK_FALSE(err->empty());
        CHECK(err->find('\n') == std::string::npos);
        if (f.code == SQLITE_FULL) CHECK(err->find("full") != std::string::npos);
        else CHECK(err->find("I/O error") != std::string::npos);
      } else {
        ++counts.absorbed;
      }
      // Never a mix: all of the command or none of it.
      bool is_before = now == before, is_after = now == after;
      CHECK((is_before || is_after));
      if (!err) CHECK(is_after);  // a success that wrote nothing would be a lie
      if (is_before) {
        ++counts.before;
        // The disk is back: the same store runs the command to the end.
        auto again = cmd.run(*s);
        INFO("again: " << again.value_or(""));
        CHECK_FALSE(again);
        s.reset();
        CHECK(dump(work) == after);
      } else if (is_after) {
        ++counts.after;
      }
    }
  }
  // Every call was failed once, and most failures reached the caller.
  INFO(cmd.name << ": " << counts.runs << " runs, " << counts.failed << " errors, " << counts.absorbed
                << " absorbed by SQLite; database as before " << counts.before << ", as after " << counts.after);
  CHECK(counts.runs == 2 * calls[0] + calls[1] + calls[2]);
  CHECK(counts.failed > 0);
  WARN(cmd.name << ": writes " << calls[0] << ", fsyncs " << calls[1] << ", reads " << calls[2] << "; " << counts.runs
                << " runs: " << counts.failed << " errors, " << counts.absorbed << " absorbed; as before " << counts.before
                << ", as after " << counts.after);
}

}  // namespace

TEST_CASE("Fault injection: a failed write, fsync or read during open leaves all of it or none", "[fault]") {
  exercise({"open",
            [](Store& s, const std::string&) { open_treated(s, "ep-1", "2026-01-05"); },
            [](Store& s) {
              return error_of(
                  s.open("ep-2", "P-2", ev(R"({"type": "open", "at": "2026-01-05", "onset": "2026-01-01", "complaint": "lbp", "age": 41})")));
            }});
}

TEST_CASE("Fault injection: a failed write, fsync or read during record leaves all of it or none", "[fault]") {
  exercise({"record",
            [](Store& s, const std::string&) {
              open_treated(s, "ep-1", "2026-01-05");
              open_treated(s, "ep-2", "2026-01-05");
            },
            [](Store& s) {
              // A session in week 4: the week-3 checkpoint fires first (timer,
              // task, phase) in the same command.
              return error_of(s.record("ep-1", ev(R"({"type": "session", "at": "2026-01-28"})"), std::nullopt));
            }});
}

TEST_CASE("Fault injection: a failed write, fsync or read during one import batch leaves all of it or none", "[fault]") {
  exercise({"import",
            [](Store& s, const std::string&) { open_treated(s, "ep-1", "2026-01-05"); },
            [](Store& s) {
              std::ostringstream lines;
              for (int i = 2; i <= 5; ++i) {
                std::string id = "ep-" + std::to_string(i);
                lines << R"({"episode": ")" << id << R"(", "patient": "P-)" << i
                      << R"(", "event": {"type": "open", "at": "2026-01-06", "onset": "2026-01-02", "complaint": "lbp", "age": 44}})" "\n"
                      << R"({"episode": ")" << id
                      << R"(", "event": {"type": "screening", "at": "2026-01-06", "red_flags": [], "exclusions": []}})" "\n"
                      << R"({"episode": ")" << id
                      << R"(", "event": {"type": "stratification", "at": "2026-01-06", "profile": 2, "factors": {}}})" "\n";
              }
              lines << R"({"episode": "ep-1", "event": {"type": "session", "at": "2026-01-07"}})" "\n";
              std::istringstream in(lines.str());
              return error_of(s.import(in, 1000));  // one batch
            }});
}

TEST_CASE("Fault injection: a failed write, fsync or read during tick leaves all of it or none", "[fault]") {
  exercise({"tick",
            [](Store& s, const std::string&) {
              for (int i = 1; i <= 6; ++i) open_treated(s, "ep-" + std::to_string(i), "2026-01-05");
            },
            [](Store& s) { return error_of(s.tick(day("2026-02-20"))); }});
}

TEST_CASE("Fault injection: a failed write, fsync or read during task done leaves all of it or none", "[fault]") {
  exercise({"task done",
            [](Store& s, const std::string&) {
              open_treated(s, "ep-1", "2026-01-05");
              take(s.tick(day("2026-01-27")));  // the week-3 reevaluation task is open
            },
            [](Store& s) -> std::optional<std::string> {
              TaskFilter f;
              f.episode = "ep-1";
              f.status = TaskStatus::open;
              auto tasks = s.tasks(f);
              if (!tasks) return tasks.message();
              if (tasks->empty()) return std::string("no open task");
              return error_of(s.complete_task(tasks->back().id));
            }});
}

TEST_CASE("Fault injection: a failed write, fsync or read during rebuild leaves all of it or none", "[fault]") {
  exercise({"rebuild",
            [](Store& s, const std::string& path) {
              for (int i = 1; i <= 3; ++i) open_treated(s, "ep-" + std::to_string(i), "2026-01-05");
              // Two projections that differ from their logs: rebuild repairs them.
              SQLite::Database db(path, SQLite::OPEN_READWRITE);
              db.exec("UPDATE episodes SET body = json_set(body, '$.sessions', 7) WHERE id = 'ep-2'");
              db.exec("UPDATE episodes SET state = 'closed' WHERE id = 'ep-3'");
            },
            [](Store& s) -> std::optional<std::string> {
              auto r = s.rebuild();
              if (!r) return r.message();
              if (r->differences.empty()) return std::string("rebuild found nothing to repair");
              return std::nullopt;
            }});
}
