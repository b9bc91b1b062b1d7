#!/usr/bin/env bash
# config.sh — where kam finds its kam.yaml (--config, KAM_CONFIG, the nearest
# config/kam.yaml from the current folder up, the installed one), paths in it
# taken from the project's folder, `make install` under a DESTDIR, the keys
# kam.yaml refuses, and time limits in fractions of a second.
. "$(dirname "$0")/lib.sh" "$@"
setup

# kam with no --config and no --db: it must find both by itself
bare() { "$KAM_BIN" "$@"; }
# in DIR: CMD... (a subshell, so the test's own folder stays)
in_dir() { local d=$1; shift; ( cd "$d" && "$@" ); }

tmp_project "$T/proj" scripts
mkdir -p "$T/proj/sub/deeper" "$T/elsewhere"

# ---- the nearest config/kam.yaml up from the current folder -----------------

expect_out 'created an empty book' in_dir "$T/proj/sub/deeper" bare init
check 'init from a subfolder: the book is the project'"'"'s var/kam.db' [ -e "$T/proj/var/kam.db" ]
check 'init from a subfolder: no book in the subfolder' [ ! -e "$T/proj/sub/deeper/var" ]
expect_ok in_dir "$T/proj/sub" bare import "$KAM_SRC/tests/lua/fixtures.yaml"
n=$("$KAM_BIN" --config "$T/proj/config/kam.yaml" --db "$T/proj/var/kam.db" eval 'return db.clients:count()')
expect_eq "$n" in_dir "$T/proj/scripts" bare eval 'return db.clients:count()'
check 'the fixtures hold clients' [ "${n:-0}" -gt 0 ]
# kam run NAME finds the project's scripts/ from a subfolder
expect_out 'book summary' in_dir "$T/proj/sub/deeper" bare run summary
# the project's rules/ too: a policy written there is listed from below
printf 'return {name = "here", subject = "clients", decide = function() return 1 end}\n' >"$T/proj/rules/here.lua"
expect_out 'here' in_dir "$T/proj/sub" bare policy list
rm "$T/proj/rules/here.lua"

# ---- --config from another folder: paths from the config's project ----------

tmp_project "$T/proj2"
expect_out 'created an empty book' in_dir "$T/elsewhere" bare --config "$T/proj2/config/kam.yaml" init
check '--config from elsewhere: init made the book in the config'"'"'s project' [ -e "$T/proj2/var/kam.db" ]
check '--config from elsewhere: nothing made in the current folder' [ ! -e "$T/elsewhere/var" ]
# a relative --config is from the current folder; the db is from its project
rm -rf "$T/proj2/var"
expect_ok in_dir "$T" bare --config proj2/config/kam.yaml init
check 'relative --config: the book in its project' [ -e "$T/proj2/var/kam.db" ]
# db: and schema: written relative are taken from the project's folder
sed -i 's|^db:.*|db: data/agency.db|' "$T/proj2/config/kam.yaml"
cp "$T/proj2/config/schema.yaml" "$T/proj2/config/other.yaml"
echo 'schema: config/other.yaml' >>"$T/proj2/config/kam.yaml"
expect_ok in_dir "$T/elsewhere" bare --config "$T/proj2/config/kam.yaml" init
check 'db: data/agency.db is the project'"'"'s' [ -e "$T/proj2/data/agency.db" ]
rm "$T/proj2/config/other.yaml"
expect_fail 1 "$T/proj2/config/other.yaml" in_dir "$T/elsewhere" bare --config "$T/proj2/config/kam.yaml" stats
check 'schema: config/other.yaml is looked for in the project' _has "$T/proj2/config/other.yaml" "$ERR"
# ~/ is the home folder
sed -i 's|^db:.*|db: ~/books/kam.db|; /^schema:/d' "$T/proj2/config/kam.yaml"
mkdir -p "$T/home"
expect_ok in_dir "$T/elsewhere" env HOME="$T/home" "$KAM_BIN" --config "$T/proj2/config/kam.yaml" init
check 'db: ~/books/kam.db is in the home folder' [ -e "$T/home/books/kam.db" ]

# ---- KAM_CONFIG, and which one wins ----------------------------------------

expect_out "$T/proj/var/kam.db" in_dir "$T/elsewhere" env KAM_CONFIG="$T/proj/config/kam.yaml" "$KAM_BIN" stats
# --config before KAM_CONFIG, KAM_CONFIG before the folders
expect_out "$T/home/books/kam.db" in_dir "$T/elsewhere" env HOME="$T/home" KAM_CONFIG="$T/proj/config/kam.yaml" \
  "$KAM_BIN" --config "$T/proj2/config/kam.yaml" stats
expect_out "$T/home/books/kam.db" in_dir "$T/proj/sub" env HOME="$T/home" KAM_CONFIG="$T/proj2/config/kam.yaml" \
  "$KAM_BIN" stats
expect_fail 2 "KAM_CONFIG=$T/none.yaml: no such file" env KAM_CONFIG="$T/none.yaml" "$KAM_BIN" stats
expect_fail 2 "--config $T/none.yaml: no such file" bare --config "$T/none.yaml" stats
# nothing anywhere: a usage error that says how to give one
expect_fail 2 'KAM_CONFIG' in_dir "$T/elsewhere" bare stats
check 'no config: says --config' _has '--config' "$ERR"

# ---- kam check on a project without policies -------------------------------

tmp_project "$T/empty"
expect_fail 1 'check' in_dir "$T/empty" bare --db "$BOOK" check
check 'kam check, empty rules/: says there are no policies' grep -q 'rules/: no policies here' "$OUT"
expect_fail 1 'check' bare --config "$T/empty/config/kam.yaml" --db "$BOOK" check
check 'kam check, empty rules/ elsewhere: names the folder' grep -qF "$T/empty/rules/: no policies here" "$OUT"

# ---- make install under a DESTDIR, and the installed program ---------------

if command -v make >/dev/null 2>&1; then
  # -o build: install the program under test; make test must not build here
  _run make -s -C "$KAM_SRC" -o build install BUILD="$(dirname "$KAM_BIN")" DESTDIR="$T/stage" PREFIX=/usr
  if [ "$RC" -eq 0 ]; then _pass; else _fail 'make install DESTDIR PREFIX=/usr' "exit $RC"; fi
  S=$T/stage/usr
  for f in bin/kam share/kam/config/kam.yaml share/kam/config/schema.yaml share/kam/config/demo/demo.lua \
           share/kam/rules/tiering.lua share/kam/rules/lib/bands.lua share/kam/scripts/summary.lua \
           share/doc/kam/README.md; do
    check "installed: $f" [ -f "$S/$f" ]
  done
  check 'installed: the program is executable' [ -x "$S/bin/kam" ]
  check 'installed: no build scripts among the Lua scripts' [ ! -e "$S/share/kam/scripts/install-deps" ]
  mkdir -p "$T/user"
  ik() { in_dir "$T/user" env HOME="$T/user" "$S/bin/kam" "$@"; }
  expect_out 'created' ik init --demo
  check 'installed: the book is in ~/.local/share/kam' [ -e "$T/user/.local/share/kam/kam.db" ]
  check 'installed: nothing written under the program' [ -z "$(find "$T/stage" -name '*.db')" ]
  expect_out 'book summary' ik summary
  expect_out 'tiering' ik policy list
  expect_out ' 0 failed' ik test
  expect_out '0 problems' ik check
  # a project folder still comes first, then the installed one
  expect_out 'book      ../var/kam.db' in_dir "$T/proj/sub" env HOME="$T/user" "$S/bin/kam" stats
else
  echo "skipped: make install (no make)"
fi

# ---- keys kam does not read are refused, with file:line ---------------------

mkdir -p "$T/keys/config"
cp "$KAM_SRC/config/schema.yaml" "$T/keys/config/"
for key in 'roles: {admin: [all]}' 'reports: {weekly: "02:00"}' 'alerts: {overdue: 30}' \
           'report: {to: ceo}' 'lang: vi' 'policy: {default: tiering}'; do
  { cat "$KAM_SRC/config/kam.yaml"; echo "$key"; } >"$T/keys/config/kam.yaml"
  line=$(wc -l <"$T/keys/config/kam.yaml")
  expect_fail 1 "keys/config/kam.yaml:$line:1: kam.yaml: unknown key '${key%%:*}'" \
    in_dir "$T" bare --config keys/config/kam.yaml --db "$BOOK" stats
done
sed 's|^  name: .*|&\n  currency: VND|' "$KAM_SRC/config/kam.yaml" >"$T/keys/config/kam.yaml"
expect_fail 1 "agency: unknown key 'currency'" bare --config "$T/keys/config/kam.yaml" --db "$BOOK" stats
# people are staff records: a second list in kam.yaml is refused, saying where they went
{ cat "$KAM_SRC/config/kam.yaml"; echo 'users:'; echo '  - {id: x, role: admin}'; } >"$T/keys/config/kam.yaml"
expect_fail 1 "users: people are staff records now (staff.os_user is the login)" bare --config "$T/keys/config/kam.yaml" --db "$BOOK" stats
sed 's|^unknown_logins: .*|unknown_logins: maybe|' "$KAM_SRC/config/kam.yaml" >"$T/keys/config/kam.yaml"
expect_fail 1 "unknown_logins: expected refuse or read" bare --config "$T/keys/config/kam.yaml" --db "$BOOK" stats

# ---- time limits in fractions of a second ---------------------------------

tmp_project "$T/lim"
cat >"$T/lim/rules/spin.lua" <<'LUA'
local P = {name = "spin", subject = "clients", description = "never decides"}
function P.decide(c, why) while true do end end
return P
LUA
L() { "$KAM_BIN" --config "$T/lim/config/kam.yaml" --db "$BOOK" "$@"; }
expect_ok L import "$KAM_SRC/tests/lua/fixtures.yaml"
setlim() { { cat "$KAM_SRC/config/kam.yaml"; echo "limits: {$1}"; } >"$T/lim/config/kam.yaml"; }
ms() { echo $(( $(date +%s%N) / 1000000 )); }
setlim 'policy_seconds: 0.25'
id=$(L --format csv ls clients --limit 1 --fields id | tail -n 1 | tr -d '\r')
t0=$(ms)
expect_fail 1 'ran longer than 0.25 s (limits.policy_seconds in kam.yaml)' L policy eval spin --id "$id"
el=$(( $(ms) - t0 ))
check "policy_seconds: 0.25 stops after 0.25 s, not 1 s (took $el ms)" [ "$el" -ge 250 -a "$el" -lt 900 ]
setlim 'script_seconds: 0.5'
t0=$(ms)
expect_fail 1 'ran longer than 0.5 s (limits.script_seconds in kam.yaml)' L eval 'while true do end'
el=$(( $(ms) - t0 ))
check "script_seconds: 0.5 stops after 0.5 s, not 1 s (took $el ms)" [ "$el" -ge 500 -a "$el" -lt 1000 ]
# stopped after a kam.tx committed: the stop ends the script, not its writes
expect_fail 1 'ran longer than 0.5 s' L eval 'kam.tx(function() db.clients:update("'"$id"'", {tier = "D"}) end) while true do end'
check 'a stop after a commit says the write stays' _has 'eval: what it wrote before it failed stays in the book: 1 updated' "$ERR"
expect_eq D L eval 'return db.clients:get("'"$id"'").tier'
for bad in -1 1e3 0. .5 abc 0x10 inf; do
  setlim "policy_seconds: $bad"
  expect_fail 1 'limits.policy_seconds: expected seconds' L stats
done
setlim 'script_seconds: 1.5, policy_seconds: 2'
expect_ok L stats

# ---- config/access.yaml: mistakes named with file:line, found by kam check --------

tmp_project "$T/acc"
A="$T/acc/config/access.yaml"
acc_case() { # WHAT EXPECTED-TEXT: the rules file as now written is refused by kam check and by any command
  expect_fail 1 "$2" in_dir "$T/acc" bare --config config/kam.yaml --db "$BOOK" check
  expect_fail 1 "$2" in_dir "$T/acc" bare --config config/kam.yaml --db "$BOOK" stats
}
printf 'rules:\n  - grant: [read]\n    to: [accountant]\n    on: [clients]\n' >"$A"
acc_case role "config/access.yaml:3:9: unknown role or group 'accountant'"
printf 'rules:\n  - grant: [read]\n    to: [finance]\n    on: [bills]\n' >"$A"
acc_case collection "config/access.yaml:4:9: on: no such collection 'bills'"
printf 'rules:\n  - grant: [print]\n    to: [finance]\n    on: [clients]\n' >"$A"
acc_case action "config/access.yaml:2:12: unknown action 'print'"
printf 'rules:\n  - grant: [update]\n    to: [finance]\n    on: [clients]\n    except: [tierr]\n' >"$A"
acc_case field "config/access.yaml:5:13: field tierr: clients has no such field"
printf 'rules:\n  - forbid: [update]\n    to: [finance]\n    on: [clients]\n' >"$A"
acc_case why "config/access.yaml:2:5: forbid: why: says why"
printf 'rules:\n  - grant: [read]\n    to: [finance]\n    on: [clients]\n    scope: mine\n' >"$A"
acc_case scope "config/access.yaml:5:12: scope: expected all, team or own"
# a grant a forbid covers whole is named by kam check (the file still loads)
printf 'rules:\n  - grant: [update]\n    to: [finance]\n    on: [clients]\n  - forbid: [update]\n    to: [finance]\n    on: [clients, invoices]\n    why: not theirs\n' >"$A"
expect_fail 1 'config/access.yaml:2: this grant never applies: a forbid covers all of it' in_dir "$T/acc" bare --config config/kam.yaml --db "$BOOK" check
expect_ok in_dir "$T/acc" bare --config config/kam.yaml --db "$BOOK" stats

finish
