#!/bin/sh
# Writes zorgpad(1) from the CLI's own help: help2man on `zorgpad --help`,
# with every subcommand's `--help` as a section of its own.
# Usage: packaging/manpage.sh ZORGPAD_BINARY VERSION OUT
set -eu
bin="$1"; version="$2"; out="$3"
inc="$(mktemp)"
trap 'rm -f "$inc"' EXIT
{
  echo "[COMMANDS]"
  for sub in $("$bin" --help | awk 'tolower($0) ~ /^subcommands:/{s=1;next} s && /^  [a-z]/{print $1}'); do
    echo ".SS $sub"
    echo ".nf"
    "$bin" "$sub" --help | sed -e 's/\\/\\\\/g' -e 's/^\./\\\&./'
    echo ".fi"
  done
  echo "[FILES]"
  echo "/usr/share/zorgpad: letter templates and wording, the dashboard."
  echo ".br"
  echo "/etc/default/zorgpad: settings of the zorgpad-serve and zorgpad-worker services."
  echo "[SEE ALSO]"
  echo "The documentation in /usr/share/doc/zorgpad and https://github.com/ (docs/ of the source)."
} > "$inc"
help2man --no-info --no-discard-stderr --version-string="$version" \
  --name="care-pathway engine for low back pain (KNGF 2021, KCE 295)" --include="$inc" --output="$out" "$bin"
