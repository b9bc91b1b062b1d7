#!/usr/bin/env bash
# kam verify: a sound book passes; a book damaged on purpose (with lmdbpoke,
# built by ctest: an index entry deleted, a stray one added, counts changed,
# a record garbled, a decision or an audit entry lost) is reported with exit
# 1 and the problem named; a book that cannot be read exits 4.
. "$(dirname "$0")/lib.sh" "$@"
POKE=${3:?usage: verify.sh KAM_BIN KAM_SRC LMDBPOKE}
case $POKE in /*) ;; *) POKE=$PWD/$POKE ;; esac
setup
rm -f "$BOOK" "$BOOK-lock"
kam init --demo >/dev/null
kam policy eval tiering --commit >/dev/null

expect_out 'ok: 24 collections, ' kam verify
check 'sound: nothing on stderr' [ ! -s "$ERR" ]
check 'sound: the numbers as kam writes them' grep -Eq 'ok: 24 collections, [0-9]\.[0-9]{3} records, [0-9]+ indexes checked' "$OUT"
check 'sound: the decisions of the run' grep -q '50 decisions in 1 run$' "$OUT"
expect_out 'usage: kam verify' kam verify --help
expect_fail 2 'verify: no arguments' kam verify extra
expect_fail 2 '--limit x: expected a count' kam verify --limit x
expect_fail 4 'no book here' kam --db "$T/none.db" verify
echo 'not a book' >"$T/text.db"
expect_fail 4 'text.db' kam --db "$T/text.db" verify

# verify writes nothing, not even on a sound book
sum0=$(md5sum <"$BOOK")
kam verify >/dev/null
check 'verify leaves the file as it was' [ "$(md5sum <"$BOOK")" = "$sum0" ]

cp "$BOOK" "$T/sound.db"
IX=i:invoices.client.issued
# an index key ends with the id packed (core/keyenc.h): INV-000123 is class 2
# (after the prefix INV-), "0" as is, then the nibbles 1 1 2 3 4 and 0 (the end)
KEY=$("$POKE" "$BOOK" find $IX '\x020\x11\x23\x40')
OTHER=$("$POKE" "$BOOK" find $IX '\x020\x11\x23\x50')
check 'the entry to damage is there' [ -n "$KEY" ] && [ -n "$OTHER" ]
# damaged BOOK_COPY: a fresh copy of the sound book to damage
damaged() { cp "$T/sound.db" "$BOOK"; rm -f "$BOOK-lock"; }

damaged; "$POKE" "$BOOK" del $IX "$KEY"
expect_fail 1 'invoices INV-000123: index [client, issued] has no entry' kam verify
check 'deleted entry: the summary counts one problem' grep -q 'verify: 1 problem found; 24 collections' "$ERR"

damaged; "$POKE" "$BOOK" copy $IX "$KEY" "${KEY}X"
expect_fail 1 'invoices: index [client, issued] has an entry for INV-000123X, which is not a record' kam verify

# an entry under a key the record's fields do not give (another client: the
# key's first part, up to its 0x00, made CL-999999 packed: class 2, "9", the
# nibbles 10 10 10 10 10 and the end)
damaged; "$POKE" "$BOOK" copy $IX "$KEY" "\\x029\\xaa\\xaa\\xa0\\x00${KEY#*\\x00}"
expect_fail 1 'invoices INV-000123: index [client, issued] has a stray entry' kam verify

# the right key, but another invoice's carried values
damaged; "$POKE" "$BOOK" copy $IX "$OTHER" "$KEY"
expect_fail 1 'invoices INV-000123: index [client, issued]: the entry carries other values than the record' kam verify

damaged; "$POKE" "$BOOK" count c:clients 49
expect_fail 1 'clients: the stored count is 49, but a scan finds 50 records' kam verify
damaged; "$POKE" "$BOOK" count $IX 7
expect_fail 1 'invoices: index [client, issued]: the stored count is 7' kam verify

damaged; "$POKE" "$BOOK" put c:clients CL-000001 '\x01\x05\x07garbage'
expect_fail 1 'clients CL-000001: the record does not decode' kam verify
# version 2, without a count: a field cut short (field 5, a text of 9 bytes with 2 there)
damaged; "$POKE" "$BOOK" put c:clients CL-000001 '\x02\x05\x05\x09CL'
expect_fail 1 'clients CL-000001: the record does not decode (a field is cut short)' kam verify
damaged; "$POKE" "$BOOK" put c:clients CL-000001 '\x01\x01\x8f\x4e\x05\x01a'
expect_fail 1 'clients CL-000001: field id 9999 is not in the field dictionary' kam verify

DKEY=$("$POKE" "$BOOK" find decisions CL-000007)
damaged; "$POKE" "$BOOK" del decisions "$DKEY"
expect_fail 1 'runs: run 1 of policy tiering decided 50 subjects, but 49 of its decisions are stored' kam verify
damaged; "$POKE" "$BOOK" del audit '\x00\x00\x00\x00\x00\x00\x00\x05'
expect_fail 1 'audit: entries 5 to 5 are missing' kam verify
damaged; "$POKE" "$BOOK" put meta seq:invoices '\x01\x00\x00\x00\x00\x00\x00\x00'
expect_fail 1 'invoices: the id sequence is at 1, behind the highest id number in use' kam verify
damaged; "$POKE" "$BOOK" put meta f:tier '\x01\x00\x00\x00'
expect_fail 1 'which another field name has too' kam verify

# many problems: the first N, then a count
damaged
for d in 1 2 3 4 5; do # INV-000110 to INV-000114: "0", nibbles 1 1 2 2 d, the end
  k=$("$POKE" "$BOOK" find $IX "\\x020\\x11\\x22\\x${d}0")
  "$POKE" "$BOOK" del $IX "$k"
done
expect_fail 1 'verify: 5 problems found' kam verify --limit 2
check '--limit 2: two shown' [ "$(grep -c 'has no entry' "$ERR")" = 2 ]
check '--limit 2: the rest counted' grep -q '\.\.\. and 3 more' "$ERR"

# the same damage named the other way, by a look-up per record and entry
# (taken when the differing entries are too many to gather in memory)
damaged; "$POKE" "$BOOK" del $IX "$KEY"; "$POKE" "$BOOK" copy $IX "$OTHER" "${OTHER}X"
KAM_VERIFY_GATHER=0 expect_fail 1 'invoices INV-000123: index [client, issued] has no entry' kam verify
check 'look-ups: the stray entry too' grep -q 'has an entry for INV-000124X, which is not a record' "$ERR"
check 'look-ups: two problems' grep -q 'verify: 2 problems found' "$ERR"
damaged; "$POKE" "$BOOK" copy $IX "$OTHER" "$KEY"
KAM_VERIFY_GATHER=0 expect_fail 1 'invoices INV-000123: index [client, issued]: the entry carries other values' kam verify
# an index emptied: every record is missing its entry
damaged; "$POKE" "$BOOK" drop $IX -
expect_fail 1 'index [client, issued] has no entry' kam verify --limit 3
check 'emptied index: one problem per invoice' grep -Eq 'verify: [0-9]\.[0-9]{3} problems found' "$ERR"

# an index or a field the schema adds is built at the next open for writing:
# until then a note, not a problem (verify itself writes nothing)
damaged
tmp_project proj
sed -i 's/^      city: {type: string}$/      city: {type: string, index: true}\n      region: {type: string}/' proj/config/schema.yaml
check 'the schema was changed' grep -q 'region: {type: string}' proj/config/schema.yaml
CONFIG=$T/proj/config/kam.yaml
expect_out 'note: clients: index [city] is not built for this schema yet' kam verify
check 'a new field: a note' grep -q 'note: clients: field region is not in the book' "$OUT"
check 'notes: still ok' grep -q '^ok: ' "$OUT"
kam stats >/dev/null
expect_not 'note:' kam verify
finish
