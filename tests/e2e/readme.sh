#!/usr/bin/env bash
# The README's first steps, as a reader would type them: a book, a CSV
# import, and the overdue total by client owner with kam eval. The steps and
# what they print are read from README.md and run as written, in a folder
# that stands for the clone (with $B for kam), so the README stays true.
. "$(dirname "$0")/lib.sh" "$@"
setup
rm -f "$BOOK" "$BOOK-lock" # the steps make the book themselves ($B init)
README=$KAM_SRC/README.md

# block 'TEXT': the first fenced block after the line that starts with TEXT
block() {
  awk -v start="$1" 'index($0, start) == 1 { on = 1; next }
    on && /^```/ { if (inside) exit; inside = 1; next }
    inside { print }' "$README"
}

mkdir "$T/clone" "$T/tmp"
cd "$T/clone" || exit 4
export TMPDIR=$T/tmp
B=kam
_run eval "$(block '## A first book' | grep -v '^B=')"
check 'the first steps run' [ "$RC" = 0 ]
check 'they write no file into the clone' [ -z "$(ls -A "$T/clone")" ]
in_tmp() { [ -f "$D/clients.csv" ] && [ "${D#"$T/tmp/"}" != "$D" ]; }
check 'their CSV files are in a temporary folder' in_tmp
want=$(block 'prints the overdue total by client owner')
check 'they print what the README shows' [ "$(tail -n "$(printf '%s\n' "$want" | wc -l)" "$OUT")" = "$want" ]

# the bad row: the commands after `$ `, and the two lines of stderr they give
bad=$(block 'A bad row imports nothing')
_run eval "$(printf '%s\n' "$bad" | sed -n 's/^\$ //p' | sed 's#^build/kam #kam #')"
check 'the bad row fails with exit 1' [ "$RC" = 1 ]
check 'the bad row says what the README says' [ "$(cat "$ERR")" = "$(printf '%s\n' "$bad" | grep -v '^\$ ' | sed "s#/tmp/tmp\.[A-Za-z0-9]*#$D#")" ]
cd "$T" || exit 4

# the REPL tour says that it writes to the demo book, and names ids the demo book has
tour=$(awk '/^### kam repl/ { on = 1 } on && /^- \*\*/ { exit } on' "$README" | tr '\n' ' ')
check 'the REPL tour says it writes to var/demo.db' grep -q 'writes to that book' <<<"$tour"
"$KAM_BIN" --config "$CONFIG" --db "$T/demo.db" init --demo >/dev/null
for id in $(grep -oE '\b(CL|ST|INV|HD)-[0-9]+\b' <<<"$tour" | sort -u); do
  expect_eq true "$KAM_BIN" --config "$CONFIG" --db "$T/demo.db" eval \
    "local p = {CL = 'clients', ST = 'staff', INV = 'invoices', HD = 'contracts'}
     return db[p[('$id'):match('^%u+')]]:get('$id') ~= nil"
done

expect_ok kam eval 'local t = {}
  for inv in db.invoices:where{status = "overdue"}:each() do
    local owner = db.staff:get(db.clients:get(inv.client).owner).name
    t[owner] = (t[owner] or 0) + inv.amount
  end
  return t'
check 'Lan owes 120.000.000' grep -q 'Nguyễn Thị Lan  120.000.000' "$OUT"
check 'Đức owes 80.000.000' grep -q 'Trần Minh Đức    80.000.000' "$OUT"
expect_eq '{"Nguyễn Thị Lan":120000000,"Trần Minh Đức":80000000}' kam --format json eval 'local t = {}
  for inv in db.invoices:where{status = "overdue"}:each() do
    local owner = db.staff:get(db.clients:get(inv.client).owner).name
    t[owner] = (t[owner] or 0) + inv.amount
  end
  return t'
# the same total as one expression, as the README shows it
expect_eq 'key             value
──────────────  ─────────────
Nguyễn Thị Lan  120.000.000 ₫
Trần Minh Đức    80.000.000 ₫' kam eval 'return db.invoices:where{status = "overdue"}:group("client.owner.name", "sum", "amount")'
expect_eq '{"Nguyễn Thị Lan":120000000,"Trần Minh Đức":80000000}' kam --format json eval 'return db.invoices:where{status = "overdue"}:group("client.owner.name", "sum", "amount")'
check 'README: the date 01/09/2026 became 2026-09-01' [ "$(kam eval 'return db.invoices:get("INV-000003").issued')" = 2026-09-01 ]
finish
