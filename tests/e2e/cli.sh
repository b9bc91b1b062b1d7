#!/usr/bin/env bash
# cli.sh — the command line itself: help, usage errors (exit 2), a missing
# config or book, init, --version.
. "$(dirname "$0")/lib.sh" "$@"
setup

# help
expect_out 'usage: kam' "$KAM_BIN" --help
expect_out 'usage: kam' "$KAM_BIN" -h
expect_out 'import FILE' "$KAM_BIN" --help
for c in init import export get ls eval run; do
  expect_out "usage: kam $c" "$KAM_BIN" "$c" --help
done
expect_out 'usage: kam ls' "$KAM_BIN" help ls
_run "$KAM_BIN"
check 'kam without a command exits 2' [ "$RC" -eq 2 ]
check 'kam without a command prints the usage on stderr' _has 'usage: kam' "$ERR"

# --version
expect_out 'kam ' "$KAM_BIN" --version
check '--version prints "kam X.Y.Z"' grep -Eq '^kam [0-9]+\.[0-9]+\.[0-9]+' "$OUT"

# unknown command, option, format
expect_fail 2 'frobnicate: no such command' kam frobnicate
expect_fail 2 'unknown option --bogus' kam ls clients --bogus
expect_fail 2 'unknown option --into' kam ls clients --into x
expect_fail 2 'unknown option --bogus' kam import a.yaml --bogus
expect_fail 2 '--format xml' kam --format xml ls clients
expect_fail 2 '--format' kam export clients --format table
expect_fail 2 '--where needs a value' kam ls clients --where
expect_fail 2 'nope' kam ls nope
expect_fail 2 'nope' kam get nope X
expect_fail 2 'nope' kam export nope
expect_fail 2 'get:' kam get clients
expect_fail 2 'eval:' kam eval
expect_fail 2 'run:' kam run
expect_fail 2 'import:' kam import
expect_fail 2 '--into nope' kam import x.csv --into nope
expect_fail 2 '--limit abc' kam ls clients --limit abc
expect_fail 2 '--sort nope' kam ls clients --sort nope
expect_fail 2 "no field 'nope'" kam ls clients --fields name,nope
expect_fail 2 '--as nobody' kam --as nobody ls clients

# a missing config file
expect_fail 2 "$T/no/kam.yaml" "$KAM_BIN" --config "$T/no/kam.yaml" --db "$BOOK" ls clients
( cd "$T" && unset KAM_CONFIG && "$KAM_BIN" --db "$BOOK" ls clients >"$OUT" 2>"$ERR" ); RC=$?
check 'no config/kam.yaml here: exit 2' [ "$RC" -eq 2 ]
check 'no config/kam.yaml here: says --config' _has '--config' "$ERR"

# a missing book: exit 1 and a hint to kam init
NB=$T/none.db
for args in "eval 1" "get clients CL-1" "ls clients" "export clients" "run -" "import x.yaml"; do
  # shellcheck disable=SC2086
  expect_fail 1 'kam init' "$KAM_BIN" --config "$CONFIG" --db "$NB" $args </dev/null
done
check 'a command on a missing book does not create it' [ ! -e "$NB" ]

# init
expect_out 'created' "$KAM_BIN" --config "$CONFIG" --db "$T/two.db" init
check 'init creates the book' [ -e "$T/two.db" ]
expect_fail 1 'already' "$KAM_BIN" --config "$CONFIG" --db "$T/two.db" init
expect_fail 1 'already' kam init
expect_eq 0 kam eval 'return db.clients:count()'
expect_fail 2 'unknown option --nope' kam init --nope

finish
