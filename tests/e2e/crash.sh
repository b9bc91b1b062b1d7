#!/usr/bin/env bash
# kill -9 at random moments of three kinds of big write, each one transaction:
#   import  kam import of a large CSV (bench/gen invoices)
#   policy  kam policy eval tiering --commit (decisions, a run, tiers written)
#   run     kam run of a script whose one kam.tx inserts 20.000 activities,
#           or (every other time) updates 20.000 invoices (CRASH_UPDATES=0: all)
# After each kill kam verify must pass, and the book must be exactly as before
# the write or as after it: the counts verify reports (records, index entries,
# audit entries, decisions, runs) and what the write changes (invoices,
# tiers, the tagged activities or invoices), all on the same side.
#
#   N=30 SEED=1 bash crash.sh KAM_BIN KAM_SRC     (make crash N=1000)
#
# N kills are split over the three kinds in turn. The delays come from a
# seeded RNG and are stratified per kind over 0 to 1.3 times the length of an
# uninterrupted run (measured first, then moved towards what the kills find:
# raised when a write still runs past it, lowered when one has finished
# before a kill within it, as the machine's load changes), so early, middle and late
# moments, the commit among them, are all hit, and some kills come after the
# write has finished. A book that fails is kept and its path printed.
. "$(dirname "$0")/lib.sh" "$@"
N=${N:-30}
SEED=${SEED:-1}
# 2.000 clients and 200.000 invoices; half that for a sanitizer build, which
# runs some 3 times slower, so that make test stays within its time
SCALE=${CRASH_SCALE:-2}
[ -z "$CRASH_SCALE" ] && grep -q __asan_init "$KAM_BIN" && SCALE=1
POLICY_SCALE=${CRASH_POLICY_SCALE:-$SCALE} # make crash: 5, a commit of ~0.5-1 s
INSERTS=${CRASH_INSERTS:-20000}
UPDATES=${CRASH_UPDATES:-20000}
setup
RANDOM=$SEED

say() { echo "crash: $*"; }
ms_now() { echo $(($(date +%s%N) / 1000000)); }
on() { "$KAM_BIN" --config "$CONFIG" --db "$@"; }

# state BOOK: the counts of kam verify's summary ("c r x e a d n"), or
# "corrupt: <exit code>" when verify fails
state() {
  on "$1" verify >"$T/.v" 2>&1
  local rc=$?
  if [ "$rc" -ne 0 ]; then echo "corrupt: verify exit $rc"; return; fi
  grep '^ok:' "$T/.v" | sed 's/\.//g' | grep -o '[0-9]\+' | tr '\n' ' '
}

# crash MS BOOK ARGS...: kam ARGS on BOOK, killed -9 after MS milliseconds.
# Sets FINISHED=1 when the write had already ended by then. The binary
# itself runs in the background, not a function (a subshell would be killed).
crash() {
  local ms=$1 book=$2
  shift 2
  "$KAM_BIN" --config "$CONFIG" --db "$book" "$@" >/dev/null 2>"$T/.crash-err" &
  local pid=$!
  sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  local rc=$?
  FINISHED=0
  [ "$rc" -eq 137 ] || FINISHED=1
  if [ "$FINISHED" = 1 ] && [ "$rc" -ne 0 ]; then
    check "the write, not killed, succeeds (exit $rc: $(head -c 300 "$T/.crash-err"))" false
  fi
}

# timed BOOK ARGS...: an uninterrupted run; sets MS to its length
timed() {
  local t0
  t0=$(ms_now)
  on "$@" >/dev/null || { say "reference run failed: $*"; exit 1; }
  MS=$(($(ms_now) - t0))
}

KEPT=0
keep() { # keep BOOK WHY: a failing book, for inspection
  local dir
  dir=$(mktemp -d "${TMPDIR:-/tmp}/kam-crash-fail.XXXXXX")
  cp "$1" "$dir/book.db"
  say "FAILED ($2); the book is kept at $dir/book.db"
  KEPT=$((KEPT + 1))
}

# ---- the books ---------------------------------------------------------------
# bench/gen builds its generator into BUILD_DIR (ctest and make crash set it)
"$KAM_SRC/bench/gen" --scale "$SCALE" --seed 3 --out "$T/csv" --today 2026-11-26 >/dev/null
NINV=$(($(wc -l <"$T/csv/invoices.csv") - 1))
NUPD=$UPDATES
[ "$NUPD" -gt 0 ] && [ "$NUPD" -le "$NINV" ] || NUPD=$NINV

# import: the book before is teams, staff, clients and contracts
PA=$T/a0.db
on "$PA" init >/dev/null
on "$PA" import "$T"/csv/{teams,staff,clients,contracts}.csv >/dev/null
# run: that and the invoices
PC=$T/c0.db
cp "$PA" "$PC"
on "$PC" import "$T/csv/invoices.csv" >/dev/null
# policy: the same book, or one made at POLICY_SCALE
PB=$PC
if [ "$POLICY_SCALE" != "$SCALE" ]; then
  "$KAM_SRC/bench/gen" --scale "$POLICY_SCALE" --seed 3 --out "$T/csvp" --today 2026-11-26 >/dev/null
  PB=$T/b0.db
  on "$PB" init >/dev/null
  on "$PB" import "$T"/csvp/{teams,staff,clients,contracts,invoices}.csv >/dev/null
fi

cat >"$T/insert.lua" <<'LUA'
-- one kam.tx inserting arg[1] activities tagged arg[2]
local n, tag = tonumber(arg[1]), arg[2]
local clients = db.clients:all():limit(100):ids()
local by = db.staff:all():first().id
kam.tx(function()
  for i = 1, n do
    db.activities:insert{client = clients[i % #clients + 1], kind = "call", date = "2026-11-01",
                         by = by, notes = tag}
  end
end)
LUA
cat >"$T/update.lua" <<'LUA'
-- one kam.tx setting the note of arg[2] invoices (0: all) to arg[1]
local tag, n = arg[1], tonumber(arg[2])
local q = db.invoices:all()
if n > 0 then q = q:limit(n) end
local ids = q:ids()
kam.tx(function()
  for _, id in ipairs(ids) do db.invoices:update(id, {note = tag}) end
end)
LUA

# what a write changes, besides the counts
extra_a() { on "$1" eval 'return db.invoices:count()'; }
extra_b() { on "$1" eval 'local t = {} for _, k in ipairs{"A", "B", "C", "D"} do t[#t + 1] = k .. "=" .. db.clients:where{tier = k}:count() end return table.concat(t, " ")'; }
extra_ci() { on "$1" eval "return db.activities:where{notes = '$2'}:count()"; }
extra_cu() { on "$1" eval "return db.invoices:where{note = '$2'}:count()"; }

# ---- reference runs: how long, and the states before and after -------------------
WA=$T/a.db WB=$T/b.db WC=$T/c.db
restore() { cp "$1" "$2"; rm -f "$2-lock"; }

S_A0=$(state "$PA"); S_C0=$(state "$PC"); S_B0=$S_C0
[ "$PB" = "$PC" ] || S_B0=$(state "$PB")
X_A0=$(extra_a "$PA"); X_B0=$(extra_b "$PB")
for s in "$S_A0" "$S_B0" "$S_C0"; do
  case $s in corrupt*) say "a fresh book does not verify: $s"; cat "$T/.v"; exit 1 ;; esac
done

restore "$PA" "$WA"; timed "$WA" import "$T/csv/invoices.csv"; T_A=$MS
S_A1=$(state "$WA"); X_A1=$(extra_a "$WA")
restore "$PB" "$WB"; timed "$WB" policy eval tiering --commit; T_B=$MS
S_B1=$(state "$WB"); X_B1=$(extra_b "$WB")
restore "$PC" "$WC"; timed "$WC" run "$T/insert.lua" "$INSERTS" ref; T_CI=$MS
S_CI1=$(state "$WC")
restore "$PC" "$WC"; timed "$WC" run "$T/update.lua" ref "$UPDATES"; T_CU=$MS
S_CU1=$(state "$WC")
restore "$PA" "$WA"; restore "$PB" "$WB"; restore "$PC" "$WC"

check "import: the reference run imports $NINV invoices" [ "$X_A1" = "$NINV" ]
check 'policy: the reference run writes tiers' [ "$X_B1" != "$X_B0" ]
for s in "$S_A1" "$S_B1" "$S_CI1" "$S_CU1"; do check "reference run verifies ($s)" [ "${s#corrupt}" = "$s" ]; done
say "uninterrupted: import ${T_A} ms ($NINV invoices), policy ${T_B} ms ($(on "$PB" eval 'return db.clients:count()') clients), run ${T_CI} ms ($INSERTS inserts) / ${T_CU} ms ($NUPD updates)"
say "before/after: import [$S_A0] -> [$S_A1]; policy [$S_B0] -> [$S_B1]; run [$S_C0] -> [$S_CI1] or [$S_CU1]"

# ---- the kills -----------------------------------------------------------------------
declare -A kills before after done_early
declare -A LEN=([import]=$T_A [policy]=$T_B [insert]=$T_CI [update]=$T_CU)
for k in import policy run; do kills[$k]=0; before[$k]=0; after[$k]=0; done_early[$k]=0; done
CORRUPT=0 PARTIAL=0
per=$(((N + 2) / 3))
t_start=$(ms_now)

for ((i = 0; i < N; i++)); do
  kind=$((i % 3)) j=$((i / 3))
  u=$((RANDOM % 1000))
  case $kind in
    0) k=import w=import ;;
    1) k=policy w=policy ;;
    2) k=run w=insert; [ $((j % 2)) = 1 ] && w=update ;;
  esac
  # stratified: kill j of `per` lands in slice j of 0 .. 1.3 x the write's length
  ms=$((LEN[$w] * 13 * (j * 1000 + u) / (10 * per * 1000)))
  tag="t$i"
  case $kind in
    0) book=$WA; crash "$ms" "$WA" import "$T/csv/invoices.csv"
       s0=$S_A0 s1=$S_A1 x0=$X_A0 x1=$X_A1 x=$(extra_a "$WA") pristine=$PA ;;
    1) book=$WB; crash "$ms" "$WB" policy eval tiering --commit
       s0=$S_B0 s1=$S_B1 x0=$X_B0 x1=$X_B1 x=$(extra_b "$WB") pristine=$PB ;;
    2) book=$WC pristine=$PC s0=$S_C0 x0=0
       if [ $((j % 2)) = 0 ]; then
         crash "$ms" "$WC" run "$T/insert.lua" "$INSERTS" "$tag"
         s1=$S_CI1 x1=$INSERTS x=$(extra_ci "$WC" "$tag")
       else
         crash "$ms" "$WC" run "$T/update.lua" "$tag" "$UPDATES"
         s1=$S_CU1 x1=$NUPD x=$(extra_cu "$WC" "$tag")
       fi ;;
  esac
  if [ "$FINISHED" = 0 ] && [ "$ms" -gt "${LEN[$w]}" ]; then LEN[$w]=$(((LEN[$w] + ms) / 2))
  elif [ "$FINISHED" = 1 ] && [ "$ms" -lt "${LEN[$w]}" ]; then LEN[$w]=$(((3 * LEN[$w] + ms) / 4)); fi
  s=$(state "$book")
  kills[$k]=$((kills[$k] + 1))
  [ "$FINISHED" = 1 ] && done_early[$k]=$((done_early[$k] + 1))
  what="$k kill $i after ${ms} ms"
  if [ "${s#corrupt}" != "$s" ]; then
    CORRUPT=$((CORRUPT + 1))
    check "$what: kam verify passes ($s)" false
    sed 's/^/      /' "$T/.v" | head -n 20
    keep "$book" "$what: $s"
    restore "$pristine" "$book"
  elif [ "$s" = "$s0" ] && [ "$x" = "$x0" ]; then
    before[$k]=$((before[$k] + 1))
    _pass
  elif [ "$s" = "$s1" ] && [ "$x" = "$x1" ]; then
    after[$k]=$((after[$k] + 1))
    _pass
    restore "$pristine" "$book"
  else
    PARTIAL=$((PARTIAL + 1))
    check "$what: the book is as before or as after (counts [$s], expected [$s0] or [$s1]; changed: $x, expected $x0 or $x1)" false
    keep "$book" "$what: partial"
    restore "$pristine" "$book"
  fi
done

secs=$((($(ms_now) - t_start) / 1000))
for k in import policy run; do
  say "$k: ${kills[$k]} kills: ${before[$k]} before, ${after[$k]} after (${done_early[$k]} of them had finished)"
done
say "$N kills in ${secs} s (seed $SEED): $CORRUPT corrupt, $PARTIAL partial"
[ "$KEPT" = 0 ] || say "$KEPT failing books kept (paths above)"
finish
