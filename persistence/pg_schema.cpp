// The PostgreSQL schema: one database for many practices. Everything lives in
// the schema `zorgpad`; a practice code leads every key; row-level security
// (forced, so that the owner is held to it as well) lets a transaction see
// only the practice it set with set_config('zorgpad.practice', …, true).
#include <array>
#include <cstddef>
#include <string>

#include "persistence/pg_schema.hpp"

namespace zorgpad::pg {
namespace {

// Version 1. Dates are `date`; the episode's body is the same JSON text as in
// a SQLite store. `timers` holds one row per episode with a timer pending
// (its earliest due date): workers claim from it, and a fired row is deleted
// or moved to the episode's next due date in the same transaction, so the
// table stays as small as the episodes waiting. `ticks` is the log of timer
// firings: per episode, the latest date its timers were advanced to and the
// log entry it came after (rebuild advances an episode to it when no entry
// followed). Task ids come from one sequence: unique in the database. Text
// keys are in the "C" collation: ordered and compared byte by byte, as in
// SQLite, whatever the database's locale.
constexpr const char* kV1 = R"sql(
CREATE TABLE zorgpad.practices(
  code text COLLATE "C" PRIMARY KEY CHECK (code ~ '^[A-Za-z0-9_-]{1,32}$')
);
CREATE TABLE zorgpad.episodes(
  practice   text NOT NULL,
  id         text COLLATE "C" NOT NULL,
  patient    text COLLATE "C" NOT NULL,
  state      text COLLATE "C" NOT NULL,
  phase      text COLLATE "C" NOT NULL,
  profile    integer,
  gp         text COLLATE "C" NOT NULL DEFAULT '',
  therapist  text COLLATE "C" NOT NULL DEFAULT '',
  last_seq   bigint NOT NULL,
  next_due   date,
  body       text NOT NULL,
  last_event date NOT NULL,
  terminal   boolean NOT NULL,
  PRIMARY KEY (practice, id)
);
CREATE INDEX episodes_patient ON zorgpad.episodes(practice, patient);
CREATE INDEX episodes_gp ON zorgpad.episodes(practice, gp);
CREATE INDEX episodes_therapist ON zorgpad.episodes(practice, therapist);
CREATE INDEX episodes_inactive ON zorgpad.episodes(practice, last_event, id) WHERE NOT terminal;
CREATE TABLE zorgpad.events(
  practice    text NOT NULL,
  episode     text COLLATE "C" NOT NULL,
  seq         bigint NOT NULL,
  type        text NOT NULL,
  at          date NOT NULL,
  body        text NOT NULL,
  recorded_at bigint NOT NULL,
  event_id    text COLLATE "C",
  PRIMARY KEY (practice, episode, seq),
  FOREIGN KEY (practice, episode) REFERENCES zorgpad.episodes(practice, id) DEFERRABLE INITIALLY DEFERRED
);
CREATE UNIQUE INDEX events_event_id ON zorgpad.events(practice, event_id) WHERE event_id IS NOT NULL;
CREATE SEQUENCE zorgpad.task_ids;
CREATE TABLE zorgpad.tasks(
  practice   text NOT NULL,
  id         bigint NOT NULL DEFAULT nextval('zorgpad.task_ids'),
  episode    text COLLATE "C" NOT NULL,
  seq        integer NOT NULL,
  kind       text NOT NULL,
  checkpoint text,
  due        date NOT NULL,
  status     text NOT NULL,
  PRIMARY KEY (practice, id),
  UNIQUE (practice, episode, seq),
  FOREIGN KEY (practice, episode) REFERENCES zorgpad.episodes(practice, id) DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX tasks_open_due ON zorgpad.tasks(practice, due, id) WHERE status = 'open';
CREATE TABLE zorgpad.timers(
  practice text NOT NULL,
  episode  text COLLATE "C" NOT NULL,
  due      date NOT NULL,
  PRIMARY KEY (practice, episode)
);
CREATE INDEX timers_due ON zorgpad.timers(practice, due);
CREATE TABLE zorgpad.ticks(
  practice    text NOT NULL,
  episode     text COLLATE "C" NOT NULL,
  after_seq   bigint NOT NULL,
  at          date NOT NULL,
  recorded_at bigint NOT NULL,
  PRIMARY KEY (practice, episode)
);
CREATE TABLE zorgpad.episode_counts(
  practice text NOT NULL,
  state    text COLLATE "C" NOT NULL,
  phase    text COLLATE "C" NOT NULL,
  profile  integer NOT NULL,
  n        bigint NOT NULL,
  PRIMARY KEY (practice, state, phase, profile)
);
-- Room on every page for the next version of a row: a fire rewrites an
-- episode row (and its tick) without touching an indexed column, which
-- PostgreSQL can then do in place on the page (a HOT update) instead of
-- adding an entry to each of the five indexes of episodes.
ALTER TABLE zorgpad.episodes SET (fillfactor = 70);
ALTER TABLE zorgpad.ticks SET (fillfactor = 70);
-- A small table that churns (every fire deletes or moves a row): vacuumed
-- after a fixed number of dead rows, not a fraction of the table.
ALTER TABLE zorgpad.timers SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000);
ALTER TABLE zorgpad.episode_counts SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000);
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['episodes', 'events', 'tasks', 'timers', 'ticks', 'episode_counts'] LOOP
    EXECUTE format('ALTER TABLE zorgpad.%I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE zorgpad.%I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY practice_only ON zorgpad.%I USING (practice = current_setting(''zorgpad.practice'', true)) '
                   'WITH CHECK (practice = current_setting(''zorgpad.practice'', true))', t);
  END LOOP;
END $$;
)sql";

// Version 2: the network service. `users` is of the database, not of a
// practice (a request is authenticated before its practice is known): no
// row-level security; the token's SHA-256 only. The audit log (NEN 7513) is
// per practice under the same policy as the rest, names the episodes of each
// access inline (jsonb: one append per access), and is append-only: the
// application role may only INSERT and SELECT, and triggers refuse UPDATE,
// DELETE and TRUNCATE to everyone, the owner included.
constexpr const char* kV2 = R"sql(
CREATE TABLE zorgpad.users(
  id         bigserial PRIMARY KEY,
  name       text NOT NULL,
  role       text NOT NULL CHECK (role IN ('therapist', 'practice_admin', 'coordinator', 'gp')),
  practice   text COLLATE "C" NOT NULL DEFAULT '',
  gp         text NOT NULL DEFAULT '',
  token_hash text NOT NULL UNIQUE,
  created_at bigint NOT NULL,
  revoked_at bigint
);
CREATE TABLE zorgpad.audit(
  practice text COLLATE "C" NOT NULL,
  id       bigserial,
  at       bigint NOT NULL,
  "user"   text NOT NULL,
  role     text NOT NULL,
  action   text NOT NULL,
  address  text NOT NULL,
  outcome  text NOT NULL,
  episodes jsonb NOT NULL DEFAULT '[]',
  PRIMARY KEY (practice, id)
);
CREATE INDEX audit_at ON zorgpad.audit(practice, at);
CREATE FUNCTION zorgpad.append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the audit log is append-only';
END $$;
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON zorgpad.audit
  FOR EACH ROW EXECUTE FUNCTION zorgpad.append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON zorgpad.audit
  FOR EACH STATEMENT EXECUTE FUNCTION zorgpad.append_only();
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['audit'] LOOP
    EXECUTE format('ALTER TABLE zorgpad.%I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE zorgpad.%I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY practice_only ON zorgpad.%I USING (practice = current_setting(''zorgpad.practice'', true)) '
                   'WITH CHECK (practice = current_setting(''zorgpad.practice'', true))', t);
  END LOOP;
END $$;
)sql";

constexpr std::array kMigrations{kV1, kV2};

}  // namespace

int schema_version() { return int(kMigrations.size()); }
const char* migration_sql(int to_version) { return kMigrations[std::size_t(to_version - 1)]; }

std::string grants_sql(const std::string& quoted_role) {
  return "GRANT USAGE ON SCHEMA zorgpad TO " + quoted_role + ";\n" +
         "GRANT SELECT ON zorgpad.meta TO " + quoted_role + ";\n" +
         "GRANT SELECT, INSERT ON zorgpad.practices TO " + quoted_role + ";\n" +
         "GRANT SELECT, INSERT, UPDATE, DELETE ON zorgpad.episodes, zorgpad.events, zorgpad.tasks, zorgpad.timers, "
         "zorgpad.ticks, zorgpad.episode_counts TO " + quoted_role + ";\n" +
         "GRANT USAGE ON SEQUENCE zorgpad.task_ids TO " + quoted_role + ";\n" +
         "GRANT SELECT, INSERT ON zorgpad.users TO " + quoted_role + ";\n" +
         "GRANT UPDATE (revoked_at) ON zorgpad.users TO " + quoted_role + ";\n" +
         "GRANT USAGE ON SEQUENCE zorgpad.users_id_seq, zorgpad.audit_id_seq TO " + quoted_role + ";\n" +
         "GRANT SELECT, INSERT ON zorgpad.audit TO " + quoted_role + ";\n";
}

}  // namespace zorgpad::pg
