#!/usr/bin/env bash
# run.sh BUILD_DIR SECONDS — runs every fuzz target built in BUILD_DIR
# (cmake -DKAM_FUZZ=ON with clang; `make fuzz` does both) for SECONDS each,
# two at a time, and prints one line per target: executions and result.
# Inputs found go to BUILD_DIR/corpus/<target>/ (kept between runs, the seeds
# of tests/fuzz/corpus/ are read too); a crash, leak, timeout or
# out-of-memory input to BUILD_DIR/crashes/<target>/, the output to
# BUILD_DIR/logs/<target>.log. Temporary books live in BUILD_DIR/tmp/ while
# a target runs. Exit status 1 if any target failed. UBSAN_OPTIONS and
# LSAN_OPTIONS pass through (suppressions=FILE sets a known report aside).
set -u
build=${1:?usage: run.sh BUILD_DIR SECONDS}
secs=${2:-60}
here=$(cd "$(dirname "$0")" && pwd)
bins=$build/tests/fuzz
parallel=${FUZZ_JOBS:-2}

# -max_len per target: bigger than any seed, small enough to stay fast
max_len() {
  case $1 in
    record_decode) echo 2048 ;;
    where_text|where_table) echo 1024 ;;
    *) echo 4096 ;;
  esac
}
dict() {
  case $1 in
    yaml_import|config_load|schema_load) echo "$here/dict/yaml.dict" ;;
    json_import) echo "$here/dict/json.dict" ;;
    csv_import) echo "$here/dict/csv.dict" ;;
    colmap_convert) echo "$here/dict/colmap.dict" ;;
    where_text) echo "$here/dict/lua.dict" ;;
  esac
}

# 123456 -> 123.456
dots() {
  local n=$1 out=""
  while (( ${#n} > 3 )); do out=".${n: -3}$out"; n=${n:0:${#n}-3}; done
  echo "$n$out"
}

run_one() {
  local t=$1 bin=$bins/fuzz_$1
  local work=$build/corpus/$t crashes=$build/crashes/$t log=$build/logs/$t.log
  mkdir -p "$work" "$crashes" "$build/logs"
  local args=(-max_total_time="$secs" -rss_limit_mb=2048 -timeout=5 -max_len="$(max_len "$t")"
              -print_final_stats=1 -artifact_prefix="$crashes/")
  # FUZZ_SEED: the same mutations every run (make test), so that a run
  # can fail only on what a longer run with that seed found first
  [[ -n ${FUZZ_SEED:-} ]] && args+=(-seed="$FUZZ_SEED")
  local d; d=$(dict "$t")
  [[ -n $d && -f $d ]] && args+=(-dict="$d")
  [[ $t == where_text ]] && args+=(-close_fd_mask=2) # the command's own error messages
  local seeds=()
  [[ -d $here/corpus/$t ]] && seeds=("$here/corpus/$t")
  # the targets' temporary books, also those a crash leaves behind
  local tmp; tmp=$(cd "$build" && pwd)/tmp/$t
  rm -rf "$tmp" && mkdir -p "$tmp"
  local start=$(date +%s)
  TMPDIR=$tmp "$bin" "${args[@]}" "$work" "${seeds[@]}" >"$log" 2>&1
  local rc=$? took=$(( $(date +%s) - start ))
  rm -rf "$tmp"
  local runs; runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  [[ -z $runs ]] && runs=$(sed -n 's/.*#\([0-9][0-9]*\).*/\1/p' "$log" | tail -1)
  local what="no crash"
  if (( rc != 0 )); then
    local art; art=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
    local kind; kind=$(grep -m1 -o '==fuzz: .*' "$log")
    [[ -z $kind ]] && kind=$(grep -m1 '^SUMMARY: ' "$log" | sed 's/^SUMMARY: //')
    what="FAILED (exit $rc${kind:+: $kind}); input: ${art:-none saved}; log: $log"
  fi
  echo "fuzz $t: $(dots "${runs:-0}") runs in $took s, $what"
  (( rc == 0 ))
}

targets=()
for b in "$bins"/fuzz_*; do
  [[ -x $b && -f $b && $b != *_replay ]] && targets+=("${b##*/fuzz_}")
done
if (( ${#targets[@]} == 0 )); then
  echo "fuzz: no targets in $bins (configure with CC=clang cmake -DKAM_FUZZ=ON)" >&2
  exit 1
fi
echo "fuzz: ${#targets[@]} targets, $secs s each, $parallel at a time"
status=$build/logs/status
mkdir -p "$status"
rm -f "$status"/*
for t in "${targets[@]}"; do
  while (( $(jobs -rp | wc -l) >= parallel )); do wait -n; done
  ( run_one "$t" || touch "$status/$t.failed" ) &
done
wait
failed=$(ls "$status" | wc -l)
if (( failed )); then
  echo "fuzz: $failed target(s) failed; inputs in $build/crashes/" >&2
  exit 1
fi
