# shellcheck shell=bash
# lib.sh — helpers for the end-to-end CLI tests. Source it from a test:
#
#   . "$(dirname "$0")/lib.sh" "$@"      # args: KAM_BIN KAM_SRC
#   setup                                 # fresh temp dir and an empty book
#   expect_ok kam import a.yaml
#   expect_fail 1 'a.yaml:3:' kam import bad.yaml
#   expect_out '1.234.567' kam get clients CL-1
#   finish                                # "N passed, N failed", exit 1 on failure
#
# Every kam call goes through the `kam` function: --config and --db are given,
# KAM_TODAY is pinned. After a call, $OUT and $ERR hold the files with its
# standard output and error, and $RC its exit code.

KAM_BIN=${1:?usage: TEST.sh KAM_BIN KAM_SRC}
KAM_SRC=${2:?usage: TEST.sh KAM_BIN KAM_SRC}
case $KAM_BIN in /*) ;; *) KAM_BIN=$PWD/$KAM_BIN ;; esac
case $KAM_SRC in /*) ;; *) KAM_SRC=$PWD/$KAM_SRC ;; esac
export KAM_TODAY=2026-11-26
unset KAM_DB KAM_CONFIG
export LC_ALL=C.UTF-8

CONFIG=$KAM_SRC/config/kam.yaml
PASSED=0
FAILED=0
T=
BOOK=

# shellcheck source=../tmp.sh
. "$KAM_SRC/tests/tmp.sh"

# setup: a fresh temp dir ($T, also the current folder) with an empty book at $BOOK.
setup() {
  tmp_dir kam-e2e
  BOOK=$T/book.db
  OUT=$T/.out
  ERR=$T/.err
  cd "$T" || exit 4
  "$KAM_BIN" --config "$CONFIG" --db "$BOOK" init >/dev/null 2>"$ERR" || {
    echo "setup: kam init failed:"; cat "$ERR"; exit 1; }
}

# demo_project: a copy of the project ($T/proj: config, scripts, rules) as the
# current folder and its config in use, with the demo book at $BOOK.
demo_project() {
  tmp_project proj scripts rules
  CONFIG=$T/proj/config/kam.yaml
  rm -f "$BOOK" "$BOOK-lock"
  kam init --demo >/dev/null
  cd proj || exit 4
}

# newbook PATH: another empty book (for round trips).
newbook() { "$KAM_BIN" --config "$CONFIG" --db "$1" init >/dev/null; }

kam() { "$KAM_BIN" --config "$CONFIG" --db "$BOOK" "$@"; }

_pass() { PASSED=$((PASSED + 1)); }
_fail() {
  FAILED=$((FAILED + 1))
  echo "FAIL: $1"
  shift
  for l in "$@"; do echo "      $l"; done
  if [ -s "$OUT" ]; then echo "      stdout:"; head -n 15 "$OUT" | sed 's/^/        /'; fi
  if [ -s "$ERR" ]; then echo "      stderr:"; head -n 15 "$ERR" | sed 's/^/        /'; fi
}

# _run CMD...: runs with output captured in $OUT / $ERR, exit code in $RC.
_run() { "$@" >"$OUT" 2>"$ERR"; RC=$?; }

_has() { grep -qF -- "$1" "$2"; }

# pass/fail of a free-form check: check 'what' CMD... (passes when CMD succeeds)
check() {
  local what=$1; shift
  if "$@"; then _pass; else FAILED=$((FAILED + 1)); echo "FAIL: $what"; fi
}

expect_ok() {
  _run "$@"
  if [ "$RC" -eq 0 ]; then _pass; else _fail "$*" "expected exit 0, got $RC"; fi
}

# expect_fail CODE 'stderr substring' CMD...
expect_fail() {
  local code=$1 text=$2; shift 2
  _run "$@"
  local first
  first=$(head -n 1 "$ERR")
  if [ "$RC" -ne "$code" ]; then _fail "$*" "expected exit $code, got $RC"
  elif [ "${first#kam: }" = "$first" ]; then _fail "$*" "stderr does not start with 'kam: '"
  elif ! _has "$text" "$ERR"; then _fail "$*" "stderr lacks: $text"
  else _pass; fi
}

# expect_out 'stdout substring' CMD...  (and exit 0)
expect_out() {
  local text=$1; shift
  _run "$@"
  if [ "$RC" -ne 0 ]; then _fail "$*" "expected exit 0, got $RC"
  elif ! _has "$text" "$OUT"; then _fail "$*" "stdout lacks: $text"
  else _pass; fi
}

# expect_eq 'exact stdout' CMD...  (trailing newlines ignored, exit 0)
expect_eq() {
  local want=$1; shift
  _run "$@"
  local got
  got=$(cat "$OUT")
  if [ "$RC" -ne 0 ]; then _fail "$*" "expected exit 0, got $RC"
  elif [ "$got" != "$want" ]; then _fail "$*" "expected: $want" "got:      $got"
  else _pass; fi
}

# expect_not 'stdout substring' CMD...  (exit 0 and the text absent)
expect_not() {
  local text=$1; shift
  _run "$@"
  if [ "$RC" -ne 0 ]; then _fail "$*" "expected exit 0, got $RC"
  elif _has "$text" "$OUT"; then _fail "$*" "stdout should not contain: $text"
  else _pass; fi
}

# collections FILE: the collection names of a schema.yaml
collections() {
  awk '/^collections:/ { on = 1; next }
       on && /^[^ #]/ { on = 0 }
       on && /^  [a-z_0-9]+:/ { s = $1; sub(/:.*/, "", s); print s }' "$1"
}

# snapshot FILE [BOOK]: every collection of the book, exported as JSON, in one file.
snapshot() {
  local file=$1 book=${2:-$BOOK} schema
  schema=$(dirname "$CONFIG")/schema.yaml
  : >"$file"
  for c in $(collections "$schema"); do
    "$KAM_BIN" --config "$CONFIG" --db "$book" --format json export "$c" >>"$file" 2>&1 ||
      echo "export $c failed" >>"$file"
  done
}

# expect_unchanged SNAPFILE 'what': the book equals the snapshot.
expect_unchanged() {
  local snap=$1 what=$2
  snapshot "$T/.now"
  if cmp -s "$snap" "$T/.now"; then _pass
  else
    FAILED=$((FAILED + 1))
    echo "FAIL: book changed after: $what"
    diff "$snap" "$T/.now" | head -n 10 | sed 's/^/      /'
  fi
}

# expect_fail_unchanged CODE 'stderr substring' CMD...: fails, and the book is as before.
expect_fail_unchanged() {
  snapshot "$T/.before"
  expect_fail "$@"
  shift 2
  expect_unchanged "$T/.before" "$*"
}

finish() {
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ] || exit 1
  exit 0
}
