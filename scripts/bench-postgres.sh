#!/usr/bin/env bash
# The PostgreSQL benchmark on a throw-away cluster (scripts/with-postgres.sh):
#   scripts/bench-postgres.sh [zorgpad_pg_bench options…]
# Run by hand after a build (build/); figures in docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/.."
exec scripts/with-postgres.sh build/zorgpad bash -c \
  'build/bench/zorgpad_pg_bench --url "$ZORGPAD_PG_URL" --owner-url "$ZORGPAD_PG_OWNER_URL" "$@"' bench "$@"
