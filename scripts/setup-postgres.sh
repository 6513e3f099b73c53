#!/usr/bin/env bash
# Installs what the PostgreSQL tests need, only what is missing: Debian's
# PostgreSQL server and postgresql-common, whose pg_virtualenv starts a
# throw-away cluster per test (scripts/with-postgres.sh). The embedded SQLite
# default needs none of it. Runs as root (or with sudo available). Idempotent.
set -euo pipefail
missing=()
for p in postgresql postgresql-common; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup-postgres: installing ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
