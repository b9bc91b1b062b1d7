#!/usr/bin/env bash
# repl.sh — kam repl on a pseudo-terminal (typed lines, Tab, Ctrl-C, history,
# output modes, dot commands) and with piped input (--bail).
# Args: KAM_BIN KAM_SRC PTYDRIVE (tests/e2e/ptydrive.c, built by ctest).
. "$(dirname "$0")/lib.sh" "$@"
PTY=${3:?usage: repl.sh KAM_BIN KAM_SRC PTYDRIVE}
case $PTY in /*) ;; *) PTY=$PWD/$PTY ;; esac
setup

# a project of our own, so .policies lists what is written here
tmp_project proj
CONFIG=$T/proj/config/kam.yaml
cat > proj/rules/sample.lua <<'LUA'
local P = {name = "sample", subject = "clients", writes = "tier",
           description = "a policy for the REPL test"}
function P.decide(c, why) return "A" end
return P
LUA

cat >book.yaml <<'EOF'
clients:
  - {id: CL-A, name: "An Phát", status: active, tier: A, annual_budget: 5000000000, industry: FMCG}
  - {id: CL-B, name: "Bình Minh", status: active, tier: B}
  - {id: CL-C, name: "Cửu Long", status: paused, tier: C}
invoices:
  - {id: INV-1, client: CL-A, amount: 250000000, issued: 2026-06-01, due: 2026-07-01, status: overdue}
  - {id: INV-2, client: CL-B, amount: 90000000, issued: 2026-07-01, due: 2026-08-01, status: paid}
staff:
  - {id: ST-000001, name: "Nguyễn Thị Lan", role: team_lead, os_user: lan}
EOF
expect_ok kam import book.yaml

export TERM=xterm KAM_HISTORY=$T/history
unset NO_COLOR

# drive 'what' [PTYDRIVE OPTIONS] [-- KAM ARGS] < SCRIPT: runs kam repl on a
# pseudo-terminal, driven by the script (see ptydrive.c).
drive() {
  local what=$1; shift
  local popts=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do popts+=("$1"); shift; done
  [ "${1:-}" = -- ] && shift
  cat >"$T/.pty"
  if "$PTY" -t 10 "${popts[@]}" -o "$T/.transcript" "$T/.pty" -- \
       "$KAM_BIN" --config "$CONFIG" --db "$BOOK" "$@" repl 2>"$T/.ptyerr"; then
    _pass
  else
    FAILED=$((FAILED + 1))
    echo "FAIL: repl: $what"
    sed 's/^/      /' "$T/.ptyerr" | tail -n 40
  fi
}

drive 'expressions, statements and multi-line input' <<'EOF'
expect kam> 
send 1 + 2\r
expect 1 + 2\n3\n
send x = 40 + 2\r
expect kam> 
absent 42
send x\r
expect x\n42\n
send for i = 1, 3 do\r
expect ...> 
send print(i * 10)\r
expect ...> 
send end\r
expect 10\n20\n30\n
send {a = 1,\r
expect ...> 
send b = "hai"}\r
expect hai
send 1 +\r
expect ...> 
send 2\r
expect \n3\n
send local y = 5\r
expect kam> 
send y\r
expect nil
send "xin chào", 7\r
expect xin chào\n7\n
send error("boom")\r
expect stdin:1: boom
send 2 + 2\r
expect \n4\n
send .quit\r
exit 0
EOF

drive 'Tab completes collections, methods, fields, kam. functions and dot commands' <<'EOF'
expect kam> 
send db.cli\t
expect db.clients
send :count()\r
expect \n3\n
send db.invoices:cou\t
expect db.invoices:count
send ()\r
expect \n2\n
send db.clients:where{annual_b\t
expect annual_budget
send  = {">", 1e9}}:count()\r
expect \n1\n
send kam.fmt.mon\t
expect kam.fmt.money
send (1234567)\r
expect 1.234.567 ₫
send for e in db.clients:where{tier = "A"}:each() do print(e.na\t
expect e.name
send ) end\r
expect An Phát
send db.c\t
expect contracts
expect kam> db.c
send \x03
expect kam> 
absent Ctrl-C again
send .sch\t
expect .schema
send  invo\t
expect invoices
send \r
expect amount
send .quit\r
exit 0
EOF

drive 'Ctrl-C stops a statement, a kam.tx rolls back, the prompt says what was written' <<'EOF'
expect kam> 
send while true do end\r
sleep 300
send \x03
expect interrupted (nothing written)
expect kam> 
send n0 = db.activities:count()\r
expect kam> 
send kam.tx(function() db.activities:insert{client = "CL-A", kind = "qbr", date = "2026-11-26"} while true do end end)\r
sleep 300
send \x03
expect interrupted (nothing written)
expect kam> 
send db.activities:count() - n0\r
expect \n0\n
send kam.tx(function() db.activities:insert{client = "CL-A", kind = "qbr", date = "2026-11-26"} db.clients:update("CL-C", {status = "active"}) end)\r
expect 1 inserted, 1 updated
send db.activities:count() - n0\r
expect \n1\n
send for i = 1, 3 do\r
expect ...> 
send \x03
expect kam> 
send \x03
expect Ctrl-C again
expect kam> 
send \x03
exit 0
EOF
expect_eq 'active' kam eval 'return db.clients:get("CL-C").status'
expect_eq 1 kam eval 'return db.activities:count()'

drive 'values print for people; .mode and .headers switch the output' -w 100 <<'EOF'
expect kam> 
send db.clients:where{tier = "A"}\r
expect annual_budget
expect 5.000.000.000 ₫
expect (1 row)
send db.clients:get("CL-B")\r
expect name
expect Bình Minh
send db.invoices:all():sort("amount")\r
expect 90.000.000 ₫
expect 250.000.000 ₫
expect (2 rows)
send {total = 1234567, list = {1, 2, 3}}\r
expect list
expect {1, 2, 3}
expect total
expect 1.234.567
send .mode json\r
send db.clients:get("CL-A")\r
expect "name":"An Phát"
send .mode csv\r
send db.clients:where{tier = "B"}\r
expect id,created_at
expect CL-B,
send .headers off\r
send db.clients:where{tier = "C"}\r
expect CL-C,
absent id,created_at
send .headers on\r
send .mode yaml\r
send {a = 1, b = {2, 3}}\r
expect a: 1\nb:\n  - 2\n  - 3\n
send .mode lua\r
send {a = 1, b = {2, 3}, ["x y"] = "z"}\r
expect {a = 1, b = {2, 3}, ["x y"] = "z"}
send .mode\r
expect lua
send .mode html\r
expect expected table, json, csv, yaml or lua
send .mode table\r
send .time on\r
send 1 + 1\r
expect time 
send .time off\r
send .quit\r
exit 0
EOF

drive 'a query is trimmed to the terminal width' -w 60 <<'EOF'
expect kam> 
send db.clients:all()\r
expect not shown: strategic
expect (3 rows)
send .quit\r
exit 0
EOF
fits() { # every line of the table fits the 60 columns
  local l
  while IFS= read -r l; do
    l=${l%$'\r'}
    case $l in id\ *|CL-*|─*) [ ${#l} -le 60 ] || return 1 ;; esac
  done <"$T/.transcript"
}
check 'trimmed lines fit 60 columns' fits

cat > ok.lua <<'EOF'
local n = db.clients:count()
return "clients: " .. n
EOF
cat > bad.lua <<'EOF'
local function inner(t)
  return t.missing.field
end
local v = inner({})
return v
EOF
drive 'dot commands' -- --as lan <<'EOF'
expect kam> 
send .help\r
expect .collections
expect .policies
send .schema\r
expect clients:
expect invoices:
send .schema clients\r
expect A B C D
expect annual_budget
expect money
send .collections\r
expect collection
expect clients
expect 3
send .indexes invoices\r
expect invoices.client.issued
send .indexes\r
expect which collection
send .policies\r
expect sample
expect a policy for the REPL test
send .user\r
expect Nguyễn Thị Lan
expect team_lead
send .read ok.lua\r
expect clients: 3
send .read bad.lua\r
expect bad.lua:2: attempt to index a nil value (field 'missing')
expect in bad.lua:
send .read nope.lua\r
expect nope.lua
send .output out.txt\r
send 6 * 7\r
send print("printed too")\r
send .output stdout\r
send 5 * 5\r
expect 25
send .frobnicate\r
expect .frobnicate: no such command
send .quit\r
exit 0
EOF
check '.output wrote results and print to the file' grep -qx 42 out.txt
check '.output: print went to the file' grep -qx 'printed too' out.txt

rm -f "$KAM_HISTORY"
drive 'history is written' <<'EOF'
expect kam> 
send return 6 * 7 + 100\r
expect 142
send for i = 1, 2 do\r
send print(i + 500)\r
send end\r
expect 502
send .quit\r
exit 0
EOF
check 'history file written' test -s "$KAM_HISTORY"
check 'history keeps a chunk as one entry' grep -q 'do.012print' "$KAM_HISTORY"
drive 'history is read back' <<'EOF'
expect kam> 
send \e[A\r
expect 502
send \e[A\e[A\r
expect 142
send \x04
exit 0
EOF

# not on a terminal: no prompts, results in the chosen mode, --bail
printf 'db.clients:count()\nx = 2\nx * 21\nfor i = 1, 2 do\n  print(i)\nend\n' >ok.txt
expect_eq $'3\n42\n1\n2' kam repl <ok.txt
expect_not 'kam>' kam repl <ok.txt
printf 'db.clients:count()\nerror("first")\n2 + 2\n.nope\n' >bad.txt
expect_fail 1 'kam: stdin:2: first' kam repl <bad.txt
check 'without --bail the statements go on' grep -qx 4 "$OUT"
check 'a bad dot command is an error too' _has '.nope: no such command' "$ERR"
expect_fail 1 'kam: stdin:2: first' kam repl --bail <bad.txt
check '--bail stops at the first error' test "$(cat "$OUT")" = 3
printf 'x = 1\nlocal t = {\n  1, 2,\n' >eof.txt
expect_fail 1 "stdin:" kam repl <eof.txt
expect_eq '{"a":1}' kam --format json repl <<<'{a = 1}'
expect_eq '[1,2]' kam repl <<<$'.mode json\n{1, 2}'
expect_fail 2 'repl: no arguments' kam repl extra
expect_fail 2 'unknown option --nope' kam repl --nope </dev/null

# an aggregate of a money field prints as money; scripts, JSON and CSV get the number
drive 'a money aggregate prints as money' -w 100 <<'EOF'
expect kam> 
send db.invoices:where{status = "overdue"}:sum("amount")\r
expect \n250.000.000 ₫\n
send db.invoices:sum("amount"), db.invoices:count()\r
expect \n340.000.000 ₫\n2\n
send db.invoices:avg("amount")\r
expect \n170.000.000 ₫\n
send db.invoices:max("amount")\r
expect \n250.000.000 ₫\n
send db.invoices:sum("amount") + 1\r
expect \n340000001\n
send math.type(db.invoices:sum("amount"))\r
expect \ninteger\n
send db.invoices:all():group("client.tier", "sum", "amount")\r
expect 250.000.000 ₫
expect 90.000.000 ₫
send db.invoices:all():group("client.tier", "count")\r
expect key
absent ₫
send .mode csv\r
send db.invoices:sum("amount")\r
expect \n340000000\n
send .mode json\r
send db.invoices:all():group("client.tier", "sum", "amount")\r
expect {"A":250000000,"B":90000000}
send .quit\r
exit 0
EOF
expect_eq '340.000.000 ₫' kam eval 'return db.invoices:sum("amount")'
expect_eq '340000000' kam --format json eval 'return db.invoices:sum("amount")'
expect_eq '340000000' kam --format csv eval 'return db.invoices:sum("amount")'
expect_eq '340000000' kam eval 'return tostring(db.invoices:sum("amount"))'
expect_eq '2' kam eval 'return db.invoices:count()'
expect_eq $'250.000.000 \u20ab\n340000000' kam repl <<<$'db.invoices:where{status = "overdue"}:sum("amount")\n.mode csv\ndb.invoices:sum("amount")'

finish
