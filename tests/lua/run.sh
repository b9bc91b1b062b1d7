#!/usr/bin/env bash
# run.sh KAM_BIN KAM_SRC TESTFILE — runs one Lua API test file against a
# fresh book holding tests/lua/fixtures.yaml, as the admin user, with today
# pinned to 2026-11-26. The test file prints "N passed, N failed" and raises
# an error when something failed, so kam exits 1.
set -u
KAM_BIN=${1:?usage: run.sh KAM_BIN KAM_SRC TESTFILE}
KAM_SRC=${2:?usage: run.sh KAM_BIN KAM_SRC TESTFILE}
TESTFILE=${3:?usage: run.sh KAM_BIN KAM_SRC TESTFILE}
export KAM_TODAY=2026-11-26
unset KAM_DB KAM_CONFIG
T=$(mktemp -d "${TMPDIR:-/tmp}/kam-lua.XXXXXX")
trap 'rm -rf "$T"' EXIT

kam() { "$KAM_BIN" --config "$KAM_SRC/config/kam.yaml" --db "$T/book.db" --as admin "$@"; }

kam init >/dev/null || { echo "run.sh: kam init failed"; exit 1; }
kam import "$KAM_SRC/tests/lua/fixtures.yaml" >"$T/import.out" 2>&1 || {
  echo "run.sh: importing the fixtures failed:"; cat "$T/import.out"; exit 1; }
kam run "$TESTFILE"
