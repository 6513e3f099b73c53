#!/usr/bin/env bash
# Installs what the dashboard's browser test and the load test need, only what
# is missing: Debian's chromium (driven headless by playwright-core, which
# never downloads a browser of its own), wrk for the load test, node and npm,
# and the test's npm packages (npm ci in tests/browser, from its lock file).
# Runs as root (or with sudo available). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
for p in chromium wrk; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# node >= 20 (playwright-core 1.64) comes with the machine; Debian's is the fallback.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup-browser: installing ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [ ! -d tests/browser/node_modules/playwright-core ]; then
  echo "setup-browser: npm ci in tests/browser" >&2
  npm ci --prefix tests/browser --no-audit --no-fund >/dev/null
fi
if [ ! -d tests/openapi/node_modules/@apidevtools/swagger-parser ]; then
  echo "setup-browser: npm ci in tests/openapi" >&2
  npm ci --prefix tests/openapi --no-audit --no-fund >/dev/null
fi
# ical.js, the second parser of what `calendar push` writes.
if [ ! -d tests/ical/node_modules/ical.js ]; then
  echo "setup-browser: npm ci in tests/ical" >&2
  npm ci --prefix tests/ical --no-audit --no-fund >/dev/null
fi
# The FHIR validators (FHIR.js and @medplum/core), before the tests run side by side.
if [ ! -d tests/fhir-validator/node_modules/@medplum/core ] || [ ! -d tests/fhir-validator/node_modules/fhir ]; then
  echo "setup-browser: npm ci in tests/fhir-validator" >&2
  npm ci --prefix tests/fhir-validator --no-audit --no-fund >/dev/null
fi
