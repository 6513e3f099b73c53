#!/usr/bin/python3
"""`zorgpad serve`: the write API on SQLite, against a real server on a free loopback port.

Run as `python3 web_write_api.py ZORGPAD_BINARY` (ctest does), with ZORGPAD_TESTS_DIR set. The checks are
tests/lib/zorgpad_web.py's api_suite, which tests/pg/pg_web_api.py runs on PostgreSQL:

- users (therapist, practice admin, coordinator, GP) are added with `zorgpad user add`; serve starts on a
  fresh database with --today 2027-03-01;
- a practice is seeded through the write API only: half of the valid scenarios of tests/scenarios one
  request per event (POST /api/episodes, then POST /api/episodes/{id}/events, some with an
  Idempotency-Key, some with If-Match), the other half in POST /api/import batches; each answer names the
  recorded event and the log length (ETag); each episode's GET …/events are its scenario's events, and
  the episode equals what `zorgpad import` of the same lines makes in a database of its own;
- every route answers as documented (health, me, practices, overview = `overview --json`, episodes paged
  and filtered, one episode, its events, tasks = `tasks --json`, a task done and 409 again, letters =
  `zorgpad letter`, diagram, calendar = `zorgpad calendar`, the OpenAPI document, the dashboard's files);
  the roles: a coordinator reads and records nothing (403), a GP reads their letters only, a therapist
  manages no users; 401 without a token, with a cookie or ?token= only;
- exactly once: an open or event repeated with the same Idempotency-Key or event "id" (as header, in the
  body, both, with another body, with a stale If-Match, for another episode) is 200 with duplicate true and
  the first recording's event index, and adds nothing (GET /api/episodes total, GET …/events, the
  database's rows outside the audit log); an import of recorded lines reports them all duplicates;
- If-Match with a stale length is 412 and writes nothing, a malformed one 400, the current one records;
- every refused scenario of tests/scenarios, posted event by event: the refused event is 422 with exactly
  the line `zorgpad record` (or `open`) prints for it on the same database afterwards, nothing written;
- import: a refused or malformed line is 422 "line N: …" (the CLI's line), nothing of its batch written,
  earlier batches kept; bad batch, Content-Type, a body over 8 MiB (413);
- bad input, each one JSON error object, nothing written, the server still answering: malformed JSON 400,
  a body over 64 KiB 413, unknown routes 404, wrong methods 405 with Allow, unknown query parameters 400,
  unknown envelope fields 400, form-encoded bodies 400, ?practice= 400 (one practice per file); a POST
  without Content-Length (no body) is answered at once;
- users: GET/POST /api/users and revoke as the practice admin; the audit log has one "rejected 422|412"
  row per refused write and the therapist's actions;
- then `node tests/openapi/check.mjs docs/openapi.yaml EXCHANGES` over every exchange of the run (the file
  named by $ZORGPAD_EXCHANGES, else a temporary one); skipped only when node is not installed.
"""
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import zorgpad_web as web  # noqa: E402

NAME = "web_write_api"


def main():
    if len(sys.argv) < 2:
        print("usage: web_write_api.py ZORGPAD_BINARY", file=sys.stderr)
        return 2
    binary = os.path.abspath(sys.argv[1])
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="zorgpad-web-write-") as tmp:
        exchanges = os.environ.get("ZORGPAD_EXCHANGES") or os.path.join(tmp, "exchanges.ndjson")
        web.set_exchanges(exchanges)
        db = os.path.join(tmp, "practice.db")
        web.must(binary, db, "init")
        backend = web.Backend("sqlite", binary, db, tmp, dump=lambda eids: web.sqlite_dump(db, eids))
        web.ApiSuite(backend).run()
        web.openapi_check(exchanges, NAME)
    web.finish(NAME, t0)


if __name__ == "__main__":
    sys.exit(main())
