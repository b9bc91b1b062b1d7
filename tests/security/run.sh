#!/usr/bin/env bash
# run.sh KAM_BIN KAM_SRC [PATTERN...] — the attack catalogue (attacks/NNN_name.lua): each snippet
# is what an untrusted script or policy author could write, and is run in every way they could:
#
#   run     kam run attacks/NNN_name.lua
#   eval    kam eval -- "$(cat attacks/NNN_name.lua)"   (-- since the chunk starts with a comment)
#   policy  kam policy eval attack          (rules/attack.lua: decide() runs the snippet)
#   commit  kam policy eval attack --commit
#   list, show, check   kam policy list / policy show attack / kam check
#                       (only for `flags: top`, where the snippet is the policy file's top level)
#
# Each run gets its own copy of a demo book and of a project folder (config/ with tight limits,
# rules/lib/ and two helper modules, files outside the project with symlinks to them in rules/).
# Runs go two at a time. Checked per run:
#   - the expectation: ok (exit 0), refused (exit 1, or 3 for a write the command or policy may
#     not make; first stderr line `kam: ...`) or stopped
#     (exit 1, `stopped: it ran longer than` / `stopped: it used more than` and `limits.`);
#     `a/b` accepts either, `any` is ok or refused;
#   - never a signal, a timeout, exit 2 or >= 4, `kam: internal`, or a sanitizer report;
#   - time: within the 1 s budget + 0.2 s (a 2 s budget and x3 for a sanitizer build, found
#     with nm or KAM_SANITIZED=1), beyond what starting kam costs on the machine, for every run and eval,
#     and for every run that was stopped (a slow run is timed twice, the faster counting;
#     `flags: bigcopy` allows 1 s more for a last copy no budget can interrupt); a policy run
#     over the 50 demo clients is killed (a hang) after 8 s (20 s), a single chunk after 3 s (12 s);
#   - never a quote of the file outside the project that rules/leak.lua points to;
#   - the book: dumps (mdb_dump -a) equal to the demo book's. For `commit` runs that are not
#     stopped, the engine's own records of the run (decisions, runs, and in meta the policy
#     source, its hash and the sequences) are left out; a stopped run must leave everything.
#   - `flags: same`: policy and commit runs use --format json, and every subject's decision
#     must be the same (nothing one evaluation does may be seen by the next);
#   - `says: TEXT`: run and eval: stderr holds TEXT (which error ended the run, for refused ones).
# `legit-write: WAY...` skips the book check for those ways (a script may write); `policy-writes:
# FIELD` is the generated policy's writes field. A snippet sees the subject and why() as `...`
# when it runs as decide() (nothing as a script); with `flags: top` it sees the policy table P.
#
# The first line of an attack says all this:
#   -- class: C | expect: DEFAULT [WAY=EXP ...] | flags: same top json bigcopy | says: T |
#      legit-write: WAY... | policy-writes: FIELD | what it tries; what must happen
# PATTERN limits the run to attacks whose file name contains it. KAM_SEC_VERBOSE=1 adds the
# slowest runs; KAM_KEEP=1 keeps the temporary folder (its path is printed).
# Prints one line per failure, then `N passed, N failed`; exits 1 on any failure.
set -u
if [ "${1:-}" = --one ]; then ONE=1; shift; else ONE=0; fi

if [ "$ONE" = 0 ]; then
  KAM_BIN=${1:?usage: run.sh KAM_BIN KAM_SRC [PATTERN...]}
  KAM_SRC=${2:?usage: run.sh KAM_BIN KAM_SRC [PATTERN...]}
  shift 2
  case $KAM_BIN in /*) ;; *) KAM_BIN=$PWD/$KAM_BIN ;; esac
  case $KAM_SRC in /*) ;; *) KAM_SRC=$PWD/$KAM_SRC ;; esac
  HERE=$(cd "$(dirname "$0")" && pwd)
  export KAM_BIN KAM_SRC HERE
  export KAM_TODAY=2026-11-26 LC_ALL=C.UTF-8
  unset KAM_DB KAM_CONFIG
  # a sanitizer build is slower: more time allowed
  SLACK=1
  if [ -n "${KAM_SANITIZED:-}" ]; then SLACK=3
  elif command -v nm >/dev/null 2>&1; then nm "$KAM_BIN" 2>/dev/null | grep -q '__asan_init\|__ubsan_handle' && SLACK=3
  else grep -qa '__asan_init' "$KAM_BIN" && SLACK=3
  fi
  export SLACK
  # what starting and ending kam costs here, best of three: none of it is the
  # budget's, and a sanitizer build or a slow machine pays more for it
  START_MS=1000
  for _ in 1 2 3; do
    t0=$(date +%s%N); "$KAM_BIN" --help >/dev/null 2>&1; t1=$(date +%s%N)
    t=$(( (t1 - t0) / 1000000 )); [ $t -lt $START_MS ] && START_MS=$t
  done
  # kam's own budgets: 1 s, and 2 s in a sanitizer build, where a policy's legitimate
  # commit over the 50 demo clients took more than 1 s on a slow day (the budget is wall time)
  LIMIT_S=$(( SLACK > 1 ? 2 : 1 ))
  export BUDGET_MS=$(( (1000 * LIMIT_S + 200) * SLACK + START_MS ))  # limits + 0.2 s
  export WALL=$(( SLACK > 1 ? 12 : 3 ))            # a single chunk killed after this: a hang
  export WALL_POLICY=$(( SLACK > 1 ? 20 : 8 ))     # a policy run over the 50 demo clients
  : "${ASAN_OPTIONS:=detect_leaks=1}"
  : "${UBSAN_OPTIONS:=print_stacktrace=1}"
  export ASAN_OPTIONS UBSAN_OPTIONS

  # shellcheck source=../tmp.sh
  . "$KAM_SRC/tests/tmp.sh"
  tmp_dir kam-sec

  # the project: shipped config with tight limits, the policies' helpers, and bait for require
  P0=$T/proj
  tmp_project "$P0" rules/lib
  mkdir -p "$T/outside"
  printf 'limits: {script_seconds: %d, policy_seconds: %d, memory_mb: 256, policy_memory_mb: 64}\n' \
    "$LIMIT_S" "$LIMIT_S" >>"$P0/config/kam.yaml"
  printf 'return {escaped = true, where = "outside the project"}\n' >"$T/outside/secret.lua"
  ln -s "$T/outside/secret.lua" "$P0/rules/linked.lua"
  ln -s "$T/outside" "$P0/rules/outdir"
  printf 'kam-secret-token: 42 (not Lua)\n' >"$T/outside/secret.txt"
  ln -s "$T/outside/secret.txt" "$P0/rules/leak.lua"
  printf 'local M = {calls = 0}\nfunction M.touch() M.calls = M.calls + 1 return M.calls end\nreturn M\n' >"$P0/scripts/counter.lua"
  printf 'local M = {}\nfunction M.set(v) kam_shared_global = v end\nfunction M.get() return kam_shared_global end\nreturn M\n' >"$P0/rules/lib/shared.lua"

  "$KAM_BIN" --config "$P0/config/kam.yaml" --db "$T/master.db" init --demo >"$T/init.out" 2>&1 || {
    echo "run.sh: kam init --demo failed:"; cat "$T/init.out"; exit 1; }
  rm -f "$T/master.db-lock"
  mdb_dump -a -n -p "$T/master.db" >"$T/master.dump" 2>"$T/dump.err" || {
    echo "run.sh: mdb_dump of the demo book failed:"; cat "$T/dump.err"; exit 1; }

  # one job per attack and way
  : >"$T/jobs"
  n_attacks=0
  for f in "$HERE"/attacks/*.lua; do
    name=$(basename "$f" .lua)
    if [ $# -gt 0 ]; then
      keep=0
      for p in "$@"; do case $name in *"$p"*) keep=1 ;; esac; done
      [ $keep = 1 ] || continue
    fi
    n_attacks=$((n_attacks + 1))
    ways="run eval policy commit"
    head -n 1 "$f" | grep -q '| *flags:[^|]*\btop\b' && ways="$ways list show check"
    for w in $ways; do echo "$name $w" >>"$T/jobs"; done
  done
  mkdir -p "$T/res"
  xargs -P 2 -n 2 bash "$0" --one <"$T/jobs" 2>"$T/workers.err"   # (bash reports the runs it killed there)
  # a run that failed only on time is run again, alone: on a loaded machine (ctest -j, other
  # builds) the wall clock counts other processes' time too
  while read -r name way; do
    if [ -s "$T/res/$name.$way" ] && ! grep -qv ': slow: ' "$T/res/$name.$way"; then
      bash "$0" --one "$name" "$way" 2>>"$T/workers.err"
    fi
  done <"$T/jobs"
  passed=0 failed=0
  while read -r name way; do
    if [ -s "$T/res/$name.$way" ]; then failed=$((failed + 1)); cat "$T/res/$name.$way"
    else passed=$((passed + 1)); fi
  done <"$T/jobs"
  if [ -n "${KAM_SEC_VERBOSE:-}" ]; then
    echo "slowest runs (ms):"; cat "$T"/w/*/.ms 2>/dev/null | sort -n | tail -n 12
  fi
  echo "$passed passed, $failed failed ($n_attacks attacks)"
  [ "$failed" -eq 0 ]
  exit
fi

# ---- one attack, one way -----------------------------------------------------------------
NAME=$1 WAY=$2
SRC=$HERE/attacks/$NAME.lua
RES=$T/res/$NAME.$WAY
W=$T/w/$NAME.$WAY
mkdir -p "$W"
: >"$RES"
fail() { echo "FAIL $NAME $WAY: $*" >>"$RES"; }

HEAD=$(head -n 1 "$SRC")
field() { # field KEY: the value of `KEY: ...` in the first line
  printf '%s\n' "$HEAD" | tr '|' '\n' | sed -n "s/^ *\(-- *\)\{0,1\}$1: *//p" | sed 's/ *$//' | head -n 1
}
EXPECT=$(field expect)
FLAGS=" $(field flags) "
SAYS=$(field says)
LEGIT=" $(field legit-write) "
PWRITES=$(field policy-writes)

# the expectation of this way: WAY=EXP, else the bare default; list/show/check default to any
exp=
for tok in $EXPECT; do case $tok in *=*) ;; *) [ -z "$exp" ] && exp=$tok ;; esac; done
case $WAY in list|show|check) exp= ;; esac
for tok in $EXPECT; do case $tok in "$WAY"=*) exp=${tok#*=} ;; esac; done
[ -n "$exp" ] || exp=any
[ "$exp" = any ] && exp=ok/refused

# the project and the book of this run
cp -a "$T/proj" "$W/proj"
cp "$T/master.db" "$W/book.db"
mkdir -p "$W/proj/attacks"
cp "$SRC" "$W/proj/attacks/$NAME.lua"
cd "$W/proj" || exit 4
if [ "$WAY" != run ] && [ "$WAY" != eval ]; then
  pw=nil
  [ -n "$PWRITES" ] && pw="\"$PWRITES\""
  case $FLAGS in
    *" top "*)
      { echo "-- generated from attacks/$NAME.lua: the snippet is the policy file's top level"
        echo "local P = {name = \"attack\", subject = \"clients\", writes = $pw, description = \"attack $NAME\"}"
        echo ";(function(...)"
        cat "$SRC"
        echo "end)()"
        echo "function P.decide(c, why) return \"ok\" end"
        echo "return P"; } >rules/attack.lua ;;
    *)
      { echo "-- generated from attacks/$NAME.lua: decide() runs the snippet as a function body"
        echo "local P = {name = \"attack\", subject = \"clients\", writes = $pw, description = \"attack $NAME\"}"
        echo "function P.decide(c, why)"
        echo "  local body = function(...)"
        cat "$SRC"
        echo "  end"
        echo "  return (body(c, why))"
        echo "end"
        echo "return P"; } >rules/attack.lua ;;
  esac
fi

fmt=()
case $WAY in
  run|eval) case $FLAGS in *" json "*) fmt=(--format json) ;; esac ;;
  policy|commit) case $FLAGS in *" same "*) fmt=(--format json) ;; esac ;;
esac
case $WAY in
  run) cmd=(run "attacks/$NAME.lua") ;;
  eval) cmd=(eval -- "$(cat "$SRC")") ;;   # "--": the chunk starts with "--"
  policy) cmd=(policy eval attack) ;;
  commit) cmd=(policy eval attack --commit) ;;
  list) cmd=(policy list) ;;
  show) cmd=(policy show attack) ;;
  check) cmd=(check) ;;
esac

t0=$(date +%s%N)
wall=$WALL
case $WAY in run|eval) ;; *) wall=$WALL_POLICY ;; esac
timeout -s KILL "$wall" "$KAM_BIN" --config config/kam.yaml --db ../book.db "${fmt[@]}" "${cmd[@]}" \
  >"$W/out" 2>"$W/err" </dev/null
rc=$?
t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
first=$(grep -av '^$' "$W/err" | head -n 1 | cut -c1-160 | iconv -c -f UTF-8 -t UTF-8 2>/dev/null | tr -d '\000-\010\013-\037\177')
why=${first:+ [$first]}

got=
# crashes, hangs, sanitizers
echo "$ms $NAME $WAY" >"$W/.ms"
if [ $rc -eq 137 ] && [ $ms -ge $((wall * 1000 - 100)) ]; then fail "hang: killed after ${wall} s"
elif [ $rc -ge 128 ]; then fail "crash: killed by signal $((rc - 128))$why"
elif grep -aq 'AddressSanitizer\|LeakSanitizer\|runtime error:\|ThreadSanitizer' "$W/err"; then
  fail "sanitizer: $(grep -a -m1 'ERROR: \|runtime error:' "$W/err" | sed 's/^[^ ]*: *//' | cut -c1-140)"
elif grep -aq 'kam: internal' "$W/err"; then fail "internal error$why"
elif [ $rc -ge 2 ] && [ $rc -ne 3 ]; then fail "exit $rc$why"
else
  # the expectation
  stopmsg=0
  grep -aq 'stopped: it ran longer than\|stopped: it used more than' "$W/err" && grep -aq 'limits\.' "$W/err" && stopmsg=1
  kamfirst=0
  case $first in "kam: "*) kamfirst=1 ;; esac
  got=
  if [ $rc -eq 0 ]; then got=ok
  elif [ $stopmsg = 1 ] && [ $kamfirst = 1 ] && [ $rc -eq 1 ]; then got=stopped
  elif [ $kamfirst = 1 ]; then got=refused
  else got="exit 1 without a 'kam: ' message"; fi
  case "/$exp/" in
    *"/$got/"*) ;;
    *) fail "expected $exp, got $got$why" ;;
  esac
  # says: which error ended the run (run and eval; a policy may be refused earlier, by kam.tx)
  if [ -n "$SAYS" ] && { [ "$WAY" = run ] || [ "$WAY" = eval ]; } && ! grep -aqF -- "$SAYS" "$W/err"; then
    fail "stderr lacks: $SAYS$why"
  fi
fi

# a file from outside the project (rules/leak.lua is a symlink to it) must never be quoted
if grep -aq "kam-secret-token" "$W/out" "$W/err"; then
  fail "quoted a file from outside the project: $(grep -ah -m1 "kam-secret-token" "$W/out" "$W/err" | cut -c1-120)"
fi

# time (a slow run is timed once more, the faster counting: on a loaded machine
# a run may wait for the processor or for memory, which says nothing of the budget)
limit=
case $WAY in run|eval) limit=$BUDGET_MS ;; esac
[ "$got" = stopped ] && limit=$BUDGET_MS
# flags: bigcopy — the script's last step is one copy of a hundred MB or more
# (a concatenation), which no budget can interrupt: on slow memory it alone
# takes longer than the 0.2 s, so a second more is allowed
case $FLAGS in *" bigcopy "*) [ -n "$limit" ] && limit=$((limit + 1000 * SLACK)) ;; esac
if [ -n "$limit" ] && [ $ms -gt $limit ] && [ $rc -lt 128 ]; then
  t0=$(date +%s%N)
  timeout -s KILL "$wall" "$KAM_BIN" --config config/kam.yaml --db ../book.db "${fmt[@]}" "${cmd[@]}" \
    >/dev/null 2>&1 </dev/null
  t1=$(date +%s%N)
  [ $(( (t1 - t0) / 1000000 )) -lt $ms ] && ms=$(( (t1 - t0) / 1000000 ))
fi
if [ -n "$limit" ] && [ $ms -gt $limit ] && [ $rc -lt 128 ]; then
  fail "slow: took ${ms} ms, over the budget's ${limit} ms$why"
fi

# the same decision for every subject
if { [ "$WAY" = policy ] || [ "$WAY" = commit ]; } && [[ $FLAGS == *" same "* ]] && { [ $rc -lt 2 ] || [ $rc -eq 3 ]; }; then
  nres=$(grep -ao '"result":"\([^"\\]\|\\.\)*"' "$W/out" | sort -u | wc -l)
  if [ "$nres" -gt 1 ]; then
    fail "leak across evaluations: $nres different decisions ($(grep -ao '"result":"\([^"\\]\|\\.\)*"' "$W/out" | sed 's/"result"://' | uniq | head -n 3 | tr '\n' ' ')...)"
  fi
fi

# the book
if [[ $LEGIT != *" $WAY "* ]] && ! cmp -s "$W/book.db" "$T/master.db"; then
  split_dump() { # split_dump DUMPFILE DIR [filter]: one file per sub-database
    mkdir -p "$2"
    awk -v dir="$2" -v filt="${3:-}" '
      BEGIN { db = "_head" }
      /^database=/ { db = substr($0, 10); hdr = 1 }
      /^(mapsize|maxreaders)=/ { next }
      { if (filt != "" && (db == "decisions" || db == "runs")) next
        if (filt != "" && db == "meta" && !hdr) {
          if (skip) { skip = 0; next }
          if (key) { key = 0; print > (dir "/" db); next }
          if ($0 ~ /^ (src:attack:|cur:attack$|decision_seq$|run_seq$)/) { skip = 1; next }
          key = 1
        }
        print > (dir "/" db)
        if ($0 == "HEADER=END") hdr = 0 }' "$1"
  }
  if ! mdb_dump -a -n -p "$W/book.db" >"$W/after.dump" 2>"$W/dump.err"; then
    fail "book unreadable after the run: $(head -n 1 "$W/dump.err")"
  else
    filt=
    [ "$WAY" = commit ] && [ "$got" != stopped ] && filt=1
    split_dump "$T/master.dump" "$W/d0" "$filt"
    split_dump "$W/after.dump" "$W/d1" "$filt"
    changed=$(diff -rq "$W/d0" "$W/d1" 2>&1 | sed -n 's|^Files .*/d0/\([^ ]*\) and .*|\1|p; s|^Only in .*/d1: |+|p; s|^Only in .*/d0: |-|p' | tr '\n' ' ')
    if [ -f "$W/d0/meta" ] && [ -f "$W/d1/meta" ] && ! cmp -s "$W/d0/meta" "$W/d1/meta"; then
      meta_pairs() { awk '/^HEADER=END/ { on = 1; next } /^DATA=END/ { on = 0 }
                          on { if (k == "") k = $0; else { print k "\t" $0; k = "" } }' "$1" | sort; }
      keys=$(comm -3 <(meta_pairs "$W/d0/meta") <(meta_pairs "$W/d1/meta") | sed 's/^\t//; s/^ //' | cut -f1 |
             sort -u | head -n 4 | tr '\n' ' ')
      changed=${changed/meta/meta (${keys% })}
    fi
    [ -n "$changed" ] && fail "book changed: ${changed% }"
  fi
fi
exit 0
