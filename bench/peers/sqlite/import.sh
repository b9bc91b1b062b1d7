#!/usr/bin/env bash
# Bulk import into SQLite as a team would do it: the tables, sqlite3's
# .import of each CSV, then the same indexes as kam (building them after
# the load is sqlite's fastest way; declared first it is several times
# slower). One sqlite3 process, default settings (rollback journal, fsync).
#   bench/peers/sqlite/import.sh DB SPEC.sql CSVDIR
set -euo pipefail
db=$1 spec=$2 dir=$3
rm -f "$db" "$db-journal"
{
  sed -n '1,/^-- indexes/p' "$spec"
  echo ".mode csv"
  for t in teams staff clients contracts projects spend invoices payments opportunities activities; do
    echo ".import --skip 1 $dir/$t.csv $t"
  done
  sed -n '/^-- indexes/,$p' "$spec"
} | sqlite3 -batch -bail "$db"
