#!/usr/bin/env bash
# The policy engine's decisions when LMDB cannot read them: a book whose
# decisions table points past the end of the file (lmdbpoke, built by ctest).
# Every command that reads them stops with exit 4 and names the table; none
# takes the failure for "no decisions" (eval showed every subject as changed,
# history said "no decisions for").
. "$(dirname "$0")/lib.sh" "$@"
POKE=${3:?usage: decisions.sh KAM_BIN KAM_SRC LMDBPOKE}
case $POKE in /*) ;; *) POKE=$PWD/$POKE ;; esac
setup
rm -f "$BOOK" "$BOOK-lock"
kam init --demo >/dev/null
kam policy eval tiering --commit >/dev/null
expect_out 'first decision' kam policy history CL-000007
expect_out '0 changed' kam policy eval tiering --id CL-000007

check 'the decisions point past the end of the book' "$POKE" "$BOOK" root decisions 999999999
expect_fail 4 'decisions: MDB_' kam policy eval tiering --id CL-000007
check 'eval: no table as if there were no decisions' [ ! -s "$OUT" ]
expect_fail 4 'decisions: MDB_' kam policy eval tiering --explain
expect_fail 4 'decisions: MDB_' kam policy history CL-000007
check 'history: not "no decisions"' [ ! -s "$OUT" ]
expect_fail 4 'decisions: MDB_' kam policy history CL-000007 tiering
expect_fail 4 'decisions: MDB_' kam policy eval tiering --commit
# the policy's committed text is in meta: still there
expect_out 'committed    this version' kam policy show tiering
finish
