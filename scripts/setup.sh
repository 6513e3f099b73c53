#!/usr/bin/env bash
# Installs what zorgpad needs to build and test on Debian 12, only what is missing.
# Runs as root (or with sudo available). Idempotent.
set -euo pipefail
pkgs=(build-essential cmake pkg-config libsqlite3-dev libsqlitecpp-dev libpqxx-dev libspdlog-dev libfmt-dev
      catch2 nlohmann-json3-dev libsimdjson-dev libcli11-dev libcpp-httplib-dev libkainjow-mustache-dev libical-dev
      libssl-dev openssl curl wrk python3 python3-icalendar sqlite3
      libcairo2-dev libpango1.0-dev libtomlplusplus-dev poppler-utils  # PDF letters, the practice file, pdftotext in the tests
      help2man  # zorgpad(1) from the CLI's help
      libxml2-dev radicale  # CalDAV: the multistatus parser; the server tests/cli/calendar_caldav.py runs
      clang libclang-rt-14-dev)  # clang and its libFuzzer runtime: scripts/fuzz.sh
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: installing ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
