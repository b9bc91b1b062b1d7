#!/usr/bin/env bash
# run.sh KAM_BIN KAM_SRC TESTFILE — runs one Lua API test file against a
# fresh book holding tests/lua/fixtures.yaml, as the admin user, with today
# pinned to 2026-11-26. The test file prints "N passed, N failed" and raises
# an error when something failed, so kam exits 1.
# require reads modules only from rules/ and scripts/ of the project (the
# folder holding config/), so the tests run in a temporary project: a copy of
# config/ and scripts/ plus testlib.lua, the helpers the test files share.
set -u
KAM_BIN=${1:?usage: run.sh KAM_BIN KAM_SRC TESTFILE}
KAM_SRC=${2:?usage: run.sh KAM_BIN KAM_SRC TESTFILE}
TESTFILE=${3:?usage: run.sh KAM_BIN KAM_SRC TESTFILE}
export KAM_TODAY=2026-11-26
unset KAM_DB KAM_CONFIG
# shellcheck source=../tmp.sh
. "$KAM_SRC/tests/tmp.sh"
tmp_dir kam-lua
tmp_project "$T" scripts
cp "$KAM_SRC/tests/lua/testlib.lua" "$T/scripts/testlib.lua" || {
  echo "run.sh: building the test project failed"; exit 1; }

kam() { "$KAM_BIN" --config "$T/config/kam.yaml" --db "$T/book.db" "$@"; }

kam init >/dev/null || { echo "run.sh: kam init failed"; exit 1; }
kam import "$KAM_SRC/tests/lua/fixtures.yaml" >"$T/import.out" 2>&1 || {
  echo "run.sh: importing the fixtures failed:"; cat "$T/import.out"; exit 1; }
kam run "$TESTFILE"
