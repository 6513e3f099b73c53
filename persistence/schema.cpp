// Schema versions and forward migrations. PRAGMA user_version holds the
// version; application_id marks the file as a zorgpad store.
#include <array>
#include <cstddef>

#include "persistence/schema.hpp"

namespace zorgpad {

namespace {

// Version 1: the event log, the episode/task projections, meta.
constexpr const char* kV1 = R"sql(
CREATE TABLE episodes(
  id        TEXT PRIMARY KEY,
  patient   TEXT NOT NULL,
  state     TEXT NOT NULL,
  phase     TEXT NOT NULL,
  profile   INTEGER,
  gp        TEXT NOT NULL DEFAULT '',
  therapist TEXT NOT NULL DEFAULT '',
  last_seq  INTEGER NOT NULL,
  next_due  TEXT,
  body      TEXT NOT NULL
);
CREATE INDEX episodes_next_due ON episodes(next_due) WHERE next_due IS NOT NULL;
CREATE TABLE events(
  episode     TEXT NOT NULL REFERENCES episodes(id) DEFERRABLE INITIALLY DEFERRED,
  seq         INTEGER NOT NULL,
  type        TEXT NOT NULL,
  at          TEXT NOT NULL,
  body        TEXT NOT NULL,
  recorded_at INTEGER NOT NULL,
  PRIMARY KEY (episode, seq)
);
CREATE TABLE tasks(
  id         INTEGER PRIMARY KEY,
  episode    TEXT NOT NULL REFERENCES episodes(id) DEFERRABLE INITIALLY DEFERRED,
  seq        INTEGER NOT NULL,
  kind       TEXT NOT NULL,
  checkpoint TEXT,
  due        TEXT NOT NULL,
  status     TEXT NOT NULL,
  UNIQUE (episode, seq)
);
CREATE INDEX tasks_status_due ON tasks(status, due);
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
)sql";

// Version 2: idempotent commands (an event may carry an id, recorded once);
// search by patient reference.
constexpr const char* kV2 = R"sql(
ALTER TABLE events ADD COLUMN event_id TEXT;
CREATE UNIQUE INDEX events_event_id ON events(event_id) WHERE event_id IS NOT NULL;
CREATE INDEX episodes_patient ON episodes(patient);
)sql";

// Version 3: a tick is one row of `ticks` (the log's last entry at that moment
// and the date), no longer an entry in the log of every episode it touched:
// rebuild advances each episode to the latest tick after its last entry, which
// fires the same timers (an event dated before a fired timer is refused, so
// only ticks after an episode's last entry can matter). Tasks are indexed by
// due date while open only: the finished ones, most of them, are not looked
// up by date.
constexpr const char* kV3 = R"sql(
CREATE TABLE ticks(
  id          INTEGER PRIMARY KEY,
  at          TEXT NOT NULL,
  after_entry INTEGER NOT NULL,
  recorded_at INTEGER NOT NULL
);
DROP INDEX tasks_status_due;
CREATE INDEX tasks_open_due ON tasks(due) WHERE status = 'open';
)sql";

// Version 4: the overview at a million episodes. Its counts come from
// episode_counts (kept in the same transaction as the episode rows; profile 0
// for none) instead of reading every episode row; GP and therapist filters
// use their own indexes (both are set at `open` and never change, so a tick
// never touches them); the open tasks are read from their index alone.
constexpr const char* kV4 = R"sql(
CREATE TABLE episode_counts(
  state   TEXT NOT NULL,
  phase   TEXT NOT NULL,
  profile INTEGER NOT NULL,
  n       INTEGER NOT NULL,
  PRIMARY KEY (state, phase, profile)
) WITHOUT ROWID;
INSERT INTO episode_counts(state, phase, profile, n)
  SELECT state, phase, COALESCE(profile, 0), count(*) FROM episodes GROUP BY 1, 2, 3;
CREATE INDEX episodes_gp ON episodes(gp);
CREATE INDEX episodes_therapist ON episodes(therapist);
DROP INDEX tasks_open_due;
CREATE INDEX tasks_open_due ON tasks(due, id, kind, episode, seq, checkpoint, status) WHERE status = 'open';
)sql";

// Version 5: inactive episodes (spec §11: non-terminal, no clinical event for
// 42 days) found through an index instead of every body. `last_event` is the
// date of the episode's latest clinical event (Episode::last_event), filled
// here from the stored body. `terminal` is 1 in referred, closed and
// excluded: the index's condition lies on it, not on `state`, because every
// episode UPDATE sets `state` and SQLite rewrites the entry of a partial
// index whose condition names a column being set, so a tick (which sets
// `state` but never changes last_event or terminality) would dirty one more
// random page per episode. Queries must repeat `terminal = 0` literally for
// the planner to use the index.
constexpr const char* kV5 = R"sql(
ALTER TABLE episodes ADD COLUMN last_event TEXT;
ALTER TABLE episodes ADD COLUMN terminal INTEGER NOT NULL DEFAULT 0;
UPDATE episodes SET last_event = json_extract(body, '$.last_event'),
                    terminal = (state IN ('referred', 'closed', 'excluded'));
CREATE INDEX episodes_inactive ON episodes(last_event, id) WHERE terminal = 0;
)sql";

// Version 6: pathway revision 2. Episodes record the revision they follow
// (the logged `open` carries it from now on; a log without it is revision
// 1's) and their bodies gain revision 2's fields. The SQL part changes
// nothing; the store then rewrites every body in the same transaction
// (kRewriteBodiesAt), so `rebuild` of an old episode finds what it derives.
constexpr const char* kV6 = R"sql(
SELECT 1;
)sql";

// Version 7: the network service (issue 14). Users hold the SHA-256 of their
// token, never the token. The audit log (NEN 7513) is append-only: triggers
// refuse every UPDATE and DELETE, so that not even a bug of ours can edit
// it. A row names the episodes of its access inline, as a JSON array: an
// access is then one sequential append (a list of 50 episodes cost 158 µs a
// row as 50 rows of an (episode, audit) index, 20 µs inline), and "who saw
// this patient?" reads the rows (of a period: `at` is indexed), which is
// rare next to the accesses it records.
constexpr const char* kV7 = R"sql(
CREATE TABLE users(
  id         INTEGER PRIMARY KEY,
  name       TEXT NOT NULL,
  role       TEXT NOT NULL CHECK (role IN ('therapist', 'practice_admin', 'coordinator', 'gp')),
  practice   TEXT NOT NULL DEFAULT '',
  gp         TEXT NOT NULL DEFAULT '',
  token_hash TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);
CREATE TABLE audit(
  id       INTEGER PRIMARY KEY,
  at       INTEGER NOT NULL,
  practice TEXT NOT NULL,
  user     TEXT NOT NULL,
  role     TEXT NOT NULL,
  action   TEXT NOT NULL,
  address  TEXT NOT NULL,
  outcome  TEXT NOT NULL,
  episodes TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX audit_at ON audit(at);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
)sql";

constexpr std::array kMigrations{kV1, kV2, kV3, kV4, kV5, kV6, kV7};

}  // namespace

int current_schema_version() { return int(kMigrations.size()); }
const char* schema_v1_sql() { return kV1; }
const char* migration_sql(int to_version) { return kMigrations[std::size_t(to_version - 1)]; }

}  // namespace zorgpad
