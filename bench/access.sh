#!/usr/bin/env bash
# bench/access.sh: the two costs an access-control change must keep within 5%,
# timed on the generated book (bench/gen), one warm-up round and N counted rounds:
#
#   bench/access.sh [--scale S] [--runs N] [--kam PATH] [-- EXTRA KAM ARGS]
#
#   --scale S     S=1 is 1,000 clients and 100,000 invoices (default 10)
#   --runs N      counted rounds of each job, after one warm-up (default 5)
#   --kam PATH    the kam binary to time (default <repo>/build/kam)
#   EXTRA         passed to every timed kam command, e.g. `-- --as ST-000003`
#   --policy-as ID, --import-as ID   --as for one job only: a team lead commits
#                 the policy, finance imports the invoices (the access checks a
#                 real user goes through; root, without a staff record, skips them)
#
# Jobs (wall seconds of the kam command alone; median and min of the rounds):
#   policy  `kam policy eval tiering --commit` on a book holding all the CSVs
#           bench/gen writes, on a fresh copy of that book each round
#   import  `kam import invoices.csv` into a fresh copy of a book already
#           holding teams, staff, clients and contracts (as bench/import.sh)
# Every kam command gets `--config <repo>/config/kam.yaml --db <book>` and
# KAM_TODAY=2026-11-26. The CSVs are shared with bench/run in
# ${BENCH_DIR:-/tmp/kam-bench}/sS/csv; the two pristine books are kept in
# .../sS/access/ and rebuilt (by the kam under test) when the CSVs, the schema
# or the kam binary change.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
scale=10 runs=5 kam_bin=$top/build/kam
extra=() policy_as=() import_as=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --scale) scale=$2; shift 2 ;;
    --scale=*) scale=${1#*=}; shift ;;
    --runs) runs=$2; shift 2 ;;
    --runs=*) runs=${1#*=}; shift ;;
    --kam) kam_bin=$2; shift 2 ;;
    --policy-as) policy_as=(--as "$2"); shift 2 ;;
    --import-as) import_as=(--as "$2"); shift 2 ;;
    --kam=*) kam_bin=${1#*=}; shift ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/access.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
say() { echo "bench/access: $*" >&2; }
die() { say "$*"; exit 1; }
[[ $runs =~ ^[1-9][0-9]*$ ]] || die "--runs wants a positive number"
[[ $kam_bin == /* ]] || kam_bin=$PWD/$kam_bin
[[ -x $kam_bin ]] || die "no kam binary at $kam_bin (make build, or --kam PATH)"

SEED=1 TODAY=2026-11-26
export KAM_TODAY=$TODAY
config=$top/config/kam.yaml
work=${BENCH_DIR:-/tmp/kam-bench}/s$scale
csv=$work/csv
dir=$work/access
mkdir -p "$dir"

# the CSVs: generated once per scale (the same stamp as bench/run)
stamp="scale=$scale seed=$SEED today=$TODAY gen=$(cksum < "$top/bench/gen.c")"
if [[ ! -f $csv/.stamp || $(cat "$csv/.stamp") != "$stamp" ]]; then
  say "generating the book at scale $scale (minutes at scale 10)"
  rm -rf "$csv"
  "$top/bench/gen" --scale "$scale" --seed "$SEED" --out "$csv" --today "$TODAY" >/dev/null
  echo "$stamp" > "$csv/.stamp"
fi

# the kam under test: its version, from the source tree its build came from
describe() {
  local src="" rev
  if [[ -f $(dirname "$kam_bin")/CMakeCache.txt ]]; then
    src=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$(dirname "$kam_bin")/CMakeCache.txt")
  fi
  [[ -n $src ]] || src=$(dirname "$kam_bin")
  if rev=$(git -C "$src" describe --always --dirty --abbrev=12 2>/dev/null); then
    echo "$rev ($src)"
  else
    echo "unknown"
  fi
}
version=$(describe)

# kam BOOK ARGS...: kam on BOOK, no EXTRA (set-up, not timed)
kam() { local db=$1; shift; "$kam_bin" --config "$config" --db "$db" "$@"; }

# the two pristine books, built by the kam under test
bstamp="$stamp schema=$(cksum < "$top/config/schema.yaml") kam=$(cksum < "$kam_bin")"
full=$dir/full.db base=$dir/base.db
if [[ ! -f $dir/books.stamp || $(cat "$dir/books.stamp") != "$bstamp" ]]; then
  rm -f "$dir"/*.db "$dir"/*.db-lock "$dir/books.stamp"
  say "importing every CSV into $full"
  all=()
  for t in teams staff clients contracts projects spend invoices payments opportunities activities; do
    [[ -f $csv/$t.csv ]] && all+=("$csv/$t.csv")
  done
  kam "$full" init >/dev/null
  kam "$full" import "${all[@]}" >/dev/null
  say "importing teams, staff, clients, contracts into $base"
  kam "$base" init >/dev/null
  kam "$base" import "$csv"/{teams,staff,clients,contracts}.csv >/dev/null
  rm -f "$full-lock" "$base-lock"
  echo "$bstamp" > "$dir/books.stamp"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kam-access.XXXXXX")
copy=$dir/round.db
trap 'rm -rf "$tmp"; rm -f "$copy" "$copy-lock"' EXIT

# fresh BOOK: a copy of the pristine BOOK at $copy, written out before the clock starts
fresh() {
  rm -f "$copy" "$copy-lock"
  cp "$1" "$copy"
  sync
}

# timed OUT CMD...: runs CMD (stdout to OUT), prints its wall seconds
timed() {
  local out=$1 t0 t1
  shift
  t0=$(date +%s.%N)
  "$@" > "$out" 2> "$tmp/err" || { cat "$tmp/err" >&2; die "failed: $*"; }
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f\n", b - a }'
}

timed_kam() { # OUT ARGS...: kam on the fresh copy, with EXTRA before the command
  local out=$1
  shift
  timed "$out" "$kam_bin" --config "$config" --db "$copy" "${extra[@]}" "$@"
}

nclients=$(($(wc -l < "$csv/clients.csv") - 1))
ninv=$(($(wc -l < "$csv/invoices.csv") - 1))
say "kam: $version; scale $scale ($nclients clients, $ninv invoices); 1 warm-up + $runs rounds${extra[*]:+; extra: ${extra[*]}}"
: > "$tmp/policy" ; : > "$tmp/import"
for ((r = 0; r <= runs; r++)); do
  label=$([[ $r == 0 ]] && echo "warm-up" || echo "round $r")

  fresh "$full"
  t=$(timed_kam "$tmp/policy.out" "${policy_as[@]}" --format json policy eval tiering --commit)
  say "$label: policy eval tiering --commit $t s"
  [[ $r == 0 ]] || echo "$t" >> "$tmp/policy"

  fresh "$base"
  t=$(timed_kam "$tmp/import.out" "${import_as[@]}" import "$csv/invoices.csv")
  say "$label: import invoices.csv $t s"
  [[ $r == 0 ]] || echo "$t" >> "$tmp/import"
done

# what the last rounds answered, to see that builds agree (not timed)
tiers=$(grep -oE '"result": *("[A-D]"|null)' "$tmp/policy.out" | sort | uniq -c |
  awk '{ t = $NF; sub(/.*:/, "", t); gsub(/"/, "", t); printf "%s%s=%d", n++ ? " " : "", t == "null" ? "none" : t, $1 }')
imported=$(kam "$copy" eval 'return db.invoices:count()' 2>/dev/null || echo "?")

stats() { sort -g "$1" | awk '{ v[NR] = $1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.3f %.3f %d", m, v[1], NR }'; }
read -r pmed pmin pn <<< "$(stats "$tmp/policy")"
read -r imed imin in_ <<< "$(stats "$tmp/import")"

echo "bench/access.sh, scale $scale ($nclients clients, $ninv invoices), $(date -u +%Y-%m-%dT%H:%MZ)"
echo "kam: $kam_bin"
echo "version: $version"
echo "extra kam args: ${extra[*]:-(none)}; policy ${policy_as[*]:-(as the login)}; import ${import_as[*]:-(as the login)}"
echo "machine: $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo), $(nproc) cores"
echo
printf '%-36s %9s %9s %5s\n' job "median s" "min s" runs
printf '%-36s %9s %9s %5s\n' "policy eval tiering --commit" "$pmed" "$pmin" "$pn"
printf '%-36s %9s %9s %5s\n' "import invoices.csv" "$imed" "$imin" "$in_"
echo
echo "policy tiers (last round): ${tiers:-?}"
echo "invoices in the book after the import: $imported"
echo "rounds, policy: $(paste -sd' ' "$tmp/policy")"
echo "rounds, import: $(paste -sd' ' "$tmp/import")"
