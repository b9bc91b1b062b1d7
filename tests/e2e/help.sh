#!/usr/bin/env bash
# help.sh — every command's --help names exactly the options the command
# takes: each option it names is accepted, and any other is refused as unknown
# (among the options named anywhere: the helps, the README, error messages).
# `kam --help` names no option that the command's own help leaves out.
. "$(dirname "$0")/lib.sh" "$@"
setup
GLOBAL=' --db --config --as --format --help '
opts() { grep -oE -- '--[a-z][a-z-]*' | sort -u | while read -r o; do
  case $GLOBAL in *" $o "*) ;; *) echo "$o" ;; esac; done; }

cmds=$("$KAM_BIN" --help | awk '/^  [a-z]/ { print $1 }')
# every option named anywhere: the helps, the README, and what errors recommend
recommended=$(kam init 2>&1) # setup made the book
all=$( { "$KAM_BIN" --help; for c in $cmds; do "$KAM_BIN" "$c" --help; done; cat "$KAM_SRC/README.md"
         echo "$recommended"; } | opts)
check 'kam init on a book recommends --force' grep -q -- '--force' <<<"$recommended"
check 'kam --help lists the commands' [ -n "$cmds" ]
for c in $cmds; do
  mine=" $("$KAM_BIN" "$c" --help | opts | tr '\n' ' ') "
  for o in $("$KAM_BIN" --help | grep -E "^  $c( |$)" | opts); do
    case $mine in *" $o "*) _pass ;; *) FAILED=$((FAILED + 1)); echo "FAIL: kam --help names $c $o, kam $c --help does not" ;; esac
  done
  # on a book that is not there: nothing runs past the options
  case $c in policy) args=(list) ;; test | check) args=("$T/none") ;; *) args=() ;; esac
  for o in $all; do
    "$KAM_BIN" --config "$CONFIG" --db "$T/none/book.db" "$c" "${args[@]}" "$o=1" >"$OUT" 2>"$ERR"
    if grep -q "unknown option $o" "$ERR"; then refused=1; else refused=0; fi
    case $mine in
      *" $o "*) [ $refused = 0 ] && _pass || { FAILED=$((FAILED + 1)); echo "FAIL: kam $c --help names $o, but $c refuses it"; } ;;
      *) [ $refused = 1 ] && _pass || { FAILED=$((FAILED + 1)); echo "FAIL: kam $c takes $o, but its --help does not say so"; } ;;
    esac
  done
done
finish
