#!/usr/bin/env bash
# inputs.sh — inputs that lie: files that parse, or nearly, but would put in
# the book something other than what they say. Each is refused with
# file:line:column (or collection, id and field), exit 1, and an unchanged
# book: YAML alias bombs, lenient JSON (a JSONTestSuite-style table), nesting
# beyond 32 levels, ids of another collection, index keys over LMDB's limit,
# text that is not UTF-8, and what the CSV and YAML readers used to drop.
. "$(dirname "$0")/lib.sh" "$@"
setup

cat >base.yaml <<'EOF'
staff:
  - {id: ST-IN1, name: "Nguyễn Thị Lan", role: team_lead}
clients:
  - {id: CL-IN1, name: "Phở Thìn", owner: ST-IN1}
EOF
expect_out 'imported 2 rows' kam import base.yaml
snapshot "$T/base"
unchanged() { expect_unchanged "$T/base" "$1"; }

# guarded CMD...: CMD with a time limit, and a memory limit where the build
# allows one (ASan reserves more address space than any limit): a reader
# that expands what it should refuse must fail this test, not the machine
if grep -q __asan_init "$KAM_BIN"; then guarded() { timeout 60 "$@"; }
else guarded() { (ulimit -v 4000000; exec timeout 60 "$@"); }; fi
# refused FILE [ARGS...]: exit 1, the first line is FILE:line:col:, nothing imported
refused() {
  local f=$1 first; shift
  _run guarded "$KAM_BIN" --config "$CONFIG" --db "$BOOK" import "$f" "$@"
  first=$(head -n 1 "$ERR")
  if [ "$RC" -ne 1 ]; then _fail "import $f $*" "expected exit 1, got $RC"
  elif ! grep -Fq -- "kam: $f:" <<<"$first" ||
       ! grep -Eq -- "^kam: [^:]+:[0-9]+:[0-9]+: " <<<"$first"; then
    _fail "import $f $*" "the first line is not located as $f:line:col:"
  else _pass; fi
}
# accepted FILE [ARGS...]: exit 0 (callers add --dry-run where the book must stay as it is)
accepted() {
  local f=$1; shift
  _run guarded "$KAM_BIN" --config "$CONFIG" --db "$BOOK" import "$f" "$@"
  if [ "$RC" -ne 0 ]; then _fail "import $f $*" "expected exit 0, got $RC"; else _pass; fi
}
# stderr_has 'what' TEXT: the last command's error output holds TEXT
stderr_has() { check "$1: stderr has '$2'" _has "$2" "$ERR"; }
# nest N OPEN CLOSE INNER: INNER inside N levels of OPEN ... CLOSE
nest() {
  local s='' e='' i
  for ((i = 0; i < $1; i++)); do s+=$2; e+=$3; done
  printf '%s%s%s' "$s" "$4" "$e"
}
# bytes TEXT: TEXT with <XX> written as the byte 0xXX (for NUL, bad UTF-8, ...)
bytes() {
  local s=${1//\\/\\\\}
  s=${s//%/%%}
  s=$(sed -E 's/<([0-9a-fA-F]{2})>/\\x\1/g' <<<"$s")
  # shellcheck disable=SC2059 # the text is the format, escaped above
  printf "$s"
}

# ---- 1. YAML aliases: expansion is capped, for every YAML kam reads ---------

# billion laughs: 9 levels of 9 aliases, 387 420 489 values from 560 bytes
bomb() {
  local prev=a l
  echo "  - {id: $1A, name: x, kpis: &a [x, x, x, x, x, x, x, x, x]}"
  for l in b c d e f g h i; do
    echo "  - {id: $1${l^^}, name: x, kpis: &$l [*$prev, *$prev, *$prev, *$prev, *$prev, *$prev, *$prev, *$prev, *$prev]}"
    prev=$l
  done
}
{ echo 'clients:'; bomb CL-BOMB; } >bomb.yaml
SECONDS=0
_run guarded "$KAM_BIN" --config "$CONFIG" --db "$BOOK" import bomb.yaml
if [ "$RC" -eq 1 ] && grep -Eq '^kam: bomb\.yaml:[0-9]+:[0-9]+: aliases expand to more than [0-9]+ values' "$ERR"
then _pass; else _fail 'alias bomb in an import' "exit $RC after ${SECONDS}s"; fi
check 'alias bomb: refused at once' test "$SECONDS" -le 10
unchanged 'alias bomb'
# aliases that stay small are fine
cat >alias_ok.yaml <<'EOF'
clients:
  - {id: CL-AL1, name: "Một", kpis: &k [reach, sales, {roas: 3}]}
  - {id: CL-AL2, name: "Hai", kpis: *k}
EOF
accepted alias_ok.yaml
expect_eq 'reach sales 3' kam eval 'local k = db.clients:get("CL-AL2").kpis return k[1] .. " " .. k[2] .. " " .. k[3].roas'
snapshot "$T/base"
# an alias inside the node it names: a cycle, infinite once expanded
cat >cycle.yaml <<'EOF'
clients:
  - {id: CL-CYC, name: x, kpis: &c [1, *c, *c]}
EOF
refused cycle.yaml
stderr_has 'alias cycle' 'contains'
# the same bomb in config/kam.yaml and config/schema.yaml
mkdir -p cfg/config
cp "$KAM_SRC"/config/*.yaml cfg/config/
{ cat "$KAM_SRC/config/kam.yaml"; echo 'alerts:'; echo '  laughs:'; bomb ST-BOMB; } >cfg/config/kam.yaml
_run guarded "$KAM_BIN" --config cfg/config/kam.yaml --db "$BOOK" eval 'return 1'
if [ "$RC" -eq 1 ] && grep -Eq '^kam: cfg/config/kam\.yaml:[0-9]+:[0-9]+: aliases expand' "$ERR"
then _pass; else _fail 'alias bomb in kam.yaml' "exit $RC"; fi
cp "$KAM_SRC/config/kam.yaml" cfg/config/kam.yaml
{ cat "$KAM_SRC/config/schema.yaml"; echo 'version:'; bomb X; } >cfg/config/schema.yaml
_run guarded "$KAM_BIN" --config cfg/config/kam.yaml --db "$BOOK" eval 'return 1'
if [ "$RC" -eq 1 ] && grep -Eq 'schema\.yaml:[0-9]+:[0-9]+: aliases expand' "$ERR"
then _pass; else _fail 'alias bomb in schema.yaml' "exit $RC"; fi

# ---- 2. JSON: strict RFC 8259, as JSONTestSuite's n_ (refuse) and y_ (accept) --

# kind|name|text. n, y: the text is a value inside a record's list field;
# nd, yd: the text is the whole file. <XX> is the byte 0xXX.
# Where kam is stricter than the suite: y_string_null_escape (\u0000, kam text
# holds no NUL), y_object_duplicated_key (a record must not say two things),
# y_number_very_big_negative_int (not exact) are refused here.
JSON_CASES=$(cat <<'EOF'
n|number_leading_zero|[012]
n|number_neg_leading_zero|[-012]
n|number_minus_zero_one|[-01]
n|number_plus|[+1]
n|number_plus_plus|[++1234]
n|number_dot_first|[.5]
n|number_neg_dot_first|[-.123]
n|number_dot_last|[1.]
n|number_neg_dot_last|[-2.]
n|number_dot_exp|[2.e3]
n|number_zero_dot_exp|[0.e1]
n|number_exp_empty|[1e]
n|number_capital_exp_empty|[0E]
n|number_exp_sign_only|[0.3e+]
n|number_exp_two_signs|[0e+-1]
n|number_exp_twice|[1eE2]
n|number_exp_garbage|[1ea]
n|number_hex|[0x42]
n|number_hex_one_digit|[0x1]
n|number_just_minus|[-]
n|number_minus_space|[- 1]
n|number_minus_garbage|[-foo]
n|number_nan|[NaN]
n|number_neg_nan|[-NaN]
n|number_infinity|[Infinity]
n|number_minus_infinity|[-Infinity]
n|number_inf|[Inf]
n|number_two_dots|[0.1.2]
n|number_real_garbage|[-123.123foo]
n|number_neg_garbage|[-1x]
n|number_space_inside|[1 000.0]
n|number_fullwidth_digit|[<ef><bc><91>]
n|number_expression|[1+2]
n|number_int_over_2_53|[9007199254740993]
n|number_neg_int_over_2_53|[-9007199254740993]
n|number_int_huge|[100000000000000000000]
n|number_very_big_negative_int|[-237462374673276894279832749832423479823246327846]
n|number_pos_overflow|[123123e100000]
n|number_neg_overflow|[-1e+9999]
n|string_nul_escape|["a\u0000b"]
n|string_nul_raw|["a<00>b"]
n|string_tab_raw|["a<09>b"]
n|string_newline_raw|["new<0a>line"]
n|string_ctrl_raw|["<1f>"]
n|string_escape_x|["\x00"]
n|string_escape_a|["\a"]
n|string_escape_capital_u|["\UA66D"]
n|string_escape_tab|["\<09>"]
n|string_escape_nul|["\<00>"]
n|string_escape_emoji|["\<f0><9f><8c><80>"]
n|string_escape_u_short|["\u00A"]
n|string_escape_u_bad_hex|["\uqqqq"]
n|string_escape_incomplete|["\"]
n|string_backslash_odd|["\\\"]
n|string_lone_high_surrogate|["\ud800"]
n|string_lone_low_surrogate|["\uDFAA"]
n|string_high_surrogate_then_escape|["\uD800\n"]
n|string_high_surrogate_then_u|["\uD800\u"]
n|string_surrogate_pair_cut|["\uD834\uDd"]
n|string_two_high_surrogates|["\uD800\uD800"]
n|string_invalid_utf8|["caf<e9>"]
n|string_invalid_utf8_after_escape|["\n<e5>"]
n|string_utf8_continuation_first|["<80>"]
n|string_overlong_2_bytes|["<c0><af>"]
n|string_overlong_3_bytes|["<e0><80><af>"]
n|string_utf8_surrogate|["<ed><a0><80>"]
n|string_beyond_unicode|["<f4><90><80><80>"]
n|string_f5_byte|["<f5><80><80><80>"]
n|string_truncated_utf8|["<e0><ff>"]
n|string_ff_byte|["<ff>"]
n|string_single_quotes|['single quote']
n|string_no_quotes|[abc]
n|string_accented_no_quotes|[é]
n|string_unterminated|["abc]
n|string_trailing_garbage|[""x]
n|string_leading_escape|[\u0020"asd"]
n|array_trailing_comma|[1,]
n|array_two_trailing_commas|[1,,]
n|array_double_comma|[1,,2]
n|array_leading_comma|[,1]
n|array_just_comma|[,]
n|array_missing_comma|[1 true]
n|array_inner_no_comma|[3[4]]
n|array_semicolon|[1:2]
n|array_colon_value|["a": 1]
n|array_star|[*]
n|array_extra_close|["x"]]
n|array_unclosed_object|[{}
n|object_trailing_comma|{"id":0,}
n|object_commas|{"id":0,,,,,}
n|object_two_commas|{"a":"b",,"c":"d"}
n|object_duplicate_key|{"a":"b","a":"c"}
n|object_duplicate_key_same_value|{"a":"b","a":"b"}
n|object_duplicate_key_escaped|{"a":1,"\u0061":2}
n|object_single_quote_key|{'a':0}
n|object_unquoted_key|{a: "b"}
n|object_number_key|{1:1}
n|object_null_key|{null:null}
n|object_bracket_key|{[: "x"}
n|object_missing_colon|{"a" b}
n|object_comma_for_colon|{"x", null}
n|object_double_colon|{"x"::"b"}
n|object_missing_key|{:"b"}
n|object_missing_value|{"a":}
n|object_value_no_comma|{"a":"a" 123}
n|object_comment|{"a":/*comment*/"b"}
n|object_single_quote_value|{"a":'b'}
n|literal_capital_true|[True]
n|literal_truth|[truth]
n|literal_nul|[nul]
n|literal_undefined|[undefined]
n|structure_line_comment|[1] // note
n|structure_formfeed|[<0c>]
n|structure_word_joiner|[<e2><81><a0>]
n|structure_nbsp|[<c2><a0>1]
n|structure_nul_outside_string|[<00>]
n|structure_angle_brackets|[<.>]
nd|structure_no_data|
nd|structure_only_whitespace|  <0a>
nd|structure_bom_no_data|<ef><bb><bf>
nd|structure_utf16_bom|<ff><fe>{<00>}<00>
nd|structure_second_document|{"clients": []}<0a>{"clients": [{"id": "CL-TWO", "name": "x"}]}
nd|structure_trailing_garbage|{"clients": []}x
nd|structure_trailing_hash|{"clients": []}#{}
nd|structure_trailing_comment|{"clients": []}/**/
nd|structure_trailing_line_comment|{"clients": []}//
nd|structure_extra_close|{"clients": []}}
nd|structure_trailing_comma|{"clients": []},
nd|structure_unclosed|{"clients": [
nd|structure_unclosed_string|{"clients
nd|structure_lone_open_bracket|[
nd|structure_close_only|]
nd|structure_object_no_colon|{"clients"
nd|structure_nul_after|{"clients": []}<00>
y|number_zero|[0]
y|number_minus_zero|[-0]
y|number_int|[123]
y|number_neg_int|[-123]
y|number_real|[1.5]
y|number_neg_real|[-0.25]
y|number_capital_e|[1E22]
y|number_exp_plus|[1e+2]
y|number_exp_minus|[1e-2]
y|number_real_exp|[123.456e78]
y|number_zero_exp|[0e1]
y|number_2_53|[9007199254740992]
y|number_neg_2_53|[-9007199254740992]
y|number_underflow|[123e-10000000]
y|number_big_real|[1.7976931348623157e308]
y|string_empty|[""]
y|string_escapes|["\"\\\/\b\f\n\r\t"]
y|string_unicode_escapes|["\u00e9\u1234\u20AC"]
y|string_surrogate_pair|["\uD834\uDD1E"]
y|string_utf8|["Phở Thìn € 𝄞"]
y|string_del|["a<7f>b"]
y|string_noncharacter|["<ef><bf><bf>"]
y|string_escaped_noncharacter|["\uFFFF"]
y|string_max_code_point|["<f4><8f><bf><bf>"]
y|string_comment_inside|["a/*b*/c"]
y|string_single_quote_inside|["it's"]
y|array_empty|[]
y|array_nested_empty|[[[]]]
y|array_mixed|[1, "a", [true], {"b": null}]
y|object_empty|{}
y|object_nested|{"a": [1, {"b": null}]}
y|object_empty_key|{"": 0}
y|object_keys_differ_by_escape|{"a": 1, "\u0062": 2}
y|literals|[true, false, null]
y|structure_whitespace|<20><09><0d><0a>[<20>1<0a>,<09>2<20>]<0d><0a>
yd|structure_compact|{"clients":[]}
yd|structure_whitespace_around|<20><0a><09>{<0a>"clients"<20>:<20>[<20>]<20>}<0a><0a>
yd|structure_utf8_bom|<ef><bb><bf>{"clients": []}
yd|structure_bare_array|[]
yd|structure_no_final_newline|{"clients": [{"id": "CL-Y", "name": "y"}]}
EOF
)
nn=0 ny=0
while IFS='|' read -r kind name text; do
  f=${kind:0:1}_$name.json
  id=CL-T$(printf %03d $((nn + ny)))   # one id each: a case let through imports, and says so
  case $kind in
    n|y) bytes "{\"clients\": [{\"id\": \"$id\", \"name\": \"t\", \"kpis\": [$text]}]}" >"$f" ;;
    nd|yd) bytes "$text" >"$f" ;;
  esac
  if [ "${kind:0:1}" = n ]; then refused "$f" --into clients; nn=$((nn + 1))
  else accepted "$f" --into clients --dry-run; ny=$((ny + 1)); fi
done <<<"$JSON_CASES"
check "the table has at least 40 n_ cases ($nn)" test "$nn" -ge 40
check "the table has at least 15 y_ cases ($ny)" test "$ny" -ge 15
# 100 000 opening brackets
head -c 100000 /dev/zero | tr '\0' '[' >n_structure_100000_opening_arrays.json
refused n_structure_100000_opening_arrays.json --into clients
unchanged 'the n_ table'

# what the messages say, and where
refused n_structure_second_document.json --into clients
stderr_has 'two documents' 'n_structure_second_document.json:2:1: text after the end of the JSON'
refused n_string_nul_escape.json --into clients
stderr_has '\u0000' 'n_string_nul_escape.json:1:57: '
stderr_has '\u0000' 'NUL'
refused n_number_int_over_2_53.json --into clients
stderr_has '2^53+1' 'n_number_int_over_2_53.json:1:55: '
stderr_has '2^53+1' '9007199254740993'
refused n_object_duplicate_key.json --into clients
stderr_has 'duplicate key' 'n_object_duplicate_key.json:1:63: '
stderr_has 'duplicate key' '"a"'
refused n_number_leading_zero.json --into clients
stderr_has 'leading zero' 'n_number_leading_zero.json:1:55: '
refused n_string_invalid_utf8.json --into clients
stderr_has 'Latin-1 byte' 'UTF-8'
refused n_string_lone_high_surrogate.json --into clients
stderr_has 'lone surrogate' 'surrogate'
refused n_string_tab_raw.json --into clients
stderr_has 'raw tab' 'control character'
# columns count characters, not bytes
printf '[{"id": "CL-VN1", "name": "Phở Thìn Bờ Hồ", "csat": 01}]\n' >cols.json
refused cols.json --into clients
stderr_has 'column in characters' 'cols.json:1:53: '
# a record's key is still found when its name is also a value
printf '[{"id": "CL-K1",\n  "name": "csat",\n  "csat": "high"}]\n' >keypos.json
refused keypos.json --into clients
stderr_has 'located at the key, not at the value' 'keypos.json:3:3: '
# what y_ cases store
bytes '[{"id": "CL-Y1", "name": "y", "kpis": [1E22, 9007199254740992, "\uD834\uDD1E", "\u00e9", -0, 1.5]}]' >y_values.json
accepted y_values.json --into clients
expect_eq '1e+22 9007199254740992 𝄞 é 0 1.5' kam eval 'local k = db.clients:get("CL-Y1").kpis
  return string.format("%.17g %d %s %s %g %g", k[1], k[2], k[3], k[4], k[5], k[6])'
# a number where text is expected keeps the digits it was written with
printf '[{"id": "CL-Y2", "name": 0.1, "legal_name": 1e21, "city": 120}]\n' >numtext.json
accepted numtext.json --into clients
expect_eq '0.1|1e+21|120' kam eval 'local c = db.clients:get("CL-Y2") return c.name .. "|" .. c.legal_name .. "|" .. c.city'
snapshot "$T/base"

# ---- 3. nesting deeper than 32 levels is refused, not cut to null ------------

# 33 lists (the field's and 32 inside it) are kept whole; 34 are refused
INNER=$(printf '[1]%.0s' {1..32})   # the Lua path to the innermost list
printf 'clients:\n  - {id: CL-D33, name: x, kpis: %s}\n' "$(nest 33 '[' ']' deep)" >d33.yaml
accepted d33.yaml
expect_eq deep kam eval "return db.clients:get('CL-D33').kpis$INNER[1]"
printf '[{"id": "CL-J33", "name": "x", "kpis": %s}]\n' "$(nest 33 '[' ']' '"deep"')" >j33.json
accepted j33.json --into clients
expect_eq deep kam eval "return db.clients:get('CL-J33').kpis$INNER[1]"
printf 'id,name,kpis\nCL-C33,x,%s\n' "$(nest 33 '[' ']' 7)" >c33.csv
accepted c33.csv --into clients
expect_eq 7 kam eval "return db.clients:get('CL-C33').kpis$INNER[1]"
snapshot "$T/base"
printf 'clients:\n  - {id: CL-D34, name: x,\n     kpis: %s}\n' "$(nest 34 '[' ']' deep)" >d34.yaml
refused d34.yaml
stderr_has 'YAML 34 levels' 'd34.yaml:3:'
stderr_has 'YAML 34 levels' 'clients CL-D34 field kpis: nested deeper than 32 levels'
printf 'clients:\n  - id: CL-D34M\n    name: x\n    kpis: [%s]\n' "$(nest 33 '{a: ' '}' 1)" >d34m.yaml
refused d34m.yaml
stderr_has 'YAML maps' 'nested deeper than 32 levels'
printf '[{"id": "CL-J34",\n  "name": "x", "kpis": %s}]\n' "$(nest 34 '[' ']' '"deep"')" >j34.json
refused j34.json --into clients
stderr_has 'JSON 34 levels' 'j34.json:2:'
stderr_has 'JSON 34 levels' 'clients CL-J34 field kpis: nested deeper than 32 levels'
printf 'id,name,kpis\nCL-C34,x,%s\n' "$(nest 34 '[' ']' 7)" >c34.csv
refused c34.csv --into clients
stderr_has 'CSV 34 levels' 'c34.csv:2:3: '
stderr_has 'CSV 34 levels' 'nested deeper than 32 levels'
unchanged 'nesting beyond 32 levels'

# ---- 4. an id of another collection's form ----------------------------------

printf 'id,name\nCL-P1,ok\nINV-000001,wrong\n' >prefix.csv
refused prefix.csv --into clients
stderr_has 'CSV prefix' 'prefix.csv:3:'
stderr_has 'CSV prefix' 'clients INV-000001: field id'
stderr_has 'CSV prefix' 'INV- (invoices)'
printf 'clients:\n  - {id: HD-000001, name: wrong}\n' >prefix.yaml
refused prefix.yaml
stderr_has 'YAML prefix' 'clients HD-000001: field id'
printf '{"staff": [{"id": "CL-000042", "name": "x", "role": "ops"}]}\n' >prefix.json
refused prefix.json
stderr_has 'JSON prefix' 'staff CL-000042: field id'
unchanged 'ids of another collection'
# prefixes match without regard to case: cl-000001 is not found as CL-000001
printf 'id,name\ncl-000007,lower\n' >prefix_case.csv
refused prefix_case.csv --into clients
stderr_has 'own prefix in another case' 'prefix_case.csv:2:1: clients cl-000007: field id: ids of clients start with CL-'
printf 'id,name\ninv-000007,lower\n' >prefix_case2.csv
refused prefix_case2.csv --into clients
stderr_has 'another prefix in another case' 'INV- (invoices)'
# the collection's own prefix and ids of no collection's form are fine
printf 'id,name\nCL-P2,ok\nVIP-7,ok\n' >prefix_ok.csv
accepted prefix_ok.csv --into clients --dry-run
# the Lua write path refuses it too
expect_fail 1 'clients INV-000009: field id' kam eval 'kam.tx(function() db.clients:insert{id = "INV-000009", name = "x"} end)'
unchanged 'Lua insert with another collection'"'"'s id'

# ---- 5. index keys over LMDB's 511 bytes: exit 1, named, nothing written ---

CL200=CL-$(printf 'A%.0s' {1..197})
PL200=PL-$(printf 'B%.0s' {1..197})
PER=$(printf 'P%.0s' {1..200})
printf 'clients:\n  - {id: %s, name: long}\n' "$CL200" >longcl.yaml
accepted longcl.yaml
snapshot "$T/base"
printf 'plans:\n  - {id: PL-OK, client: %s, kind: JBP, period: "2026"}\n  - {id: %s, client: %s, kind: JBP,\n     period: %s}\n' \
  "$CL200" "$PL200" "$CL200" "$PER" >longkey.yaml
refused longkey.yaml
stderr_has 'long key' "longkey.yaml:3:"
stderr_has 'long key' "plans $PL200: fields client, period"
stderr_has 'long key' 'plans.client.period'
unchanged 'an index key over the limit (import)'
# through Lua: exit 1, named; caught by pcall, nothing of the record is left
expect_fail 1 "plans $PL200: fields client, period" kam eval "kam.tx(function()
  db.plans:insert{id = '$PL200', client = '$CL200', kind = 'JBP', period = '$PER'} end)"
unchanged 'an index key over the limit (Lua insert)'
expect_eq 'false nil 0 0' kam eval "local ok
  kam.tx(function()
    ok = pcall(function() db.plans:insert{id = '$PL200', client = '$CL200', kind = 'JBP', period = '$PER'} end)
  end)
  return tostring(ok) .. ' ' .. tostring(db.plans:get('$PL200')) .. ' ' ..
    db.plans:where{client = '$CL200'}:count() .. ' ' .. db.plans:count()"
# an update that would not fit leaves the record and its index entries as they were
expect_ok kam eval "kam.tx(function() db.plans:insert{id = '$PL200', client = '$CL200', kind = 'JBP', period = '2026'} end)"
expect_eq 'false 2026 1 0' kam eval "local ok
  kam.tx(function()
    ok = pcall(function() db.plans:update('$PL200', {period = '$PER'}) end)
  end)
  return tostring(ok) .. ' ' .. db.plans:get('$PL200').period .. ' ' ..
    db.plans:where{client = '$CL200', period = '2026'}:count() .. ' ' .. db.plans:where{period = '$PER'}:count()"
expect_fail 1 "plans $PL200: fields client, period" kam eval "kam.tx(function() db.plans:update('$PL200', {period = '$PER'}) end)"
expect_ok kam eval "kam.tx(function() db.plans:delete('$PL200') end)"
snapshot "$T/base"

# an index added to the schema over values too long for it: exit 1, the record named
mkdir -p ix/config
cp "$KAM_SRC"/config/*.yaml ix/config/
awk '{ print } /^  clients:/ { c = 1 } c && /^      city:/ { print "    indexes:"; print "      - {on: [name, objective]}"; c = 0 }' \
  "$KAM_SRC/config/schema.yaml" >ix/config/schema.yaml
LONGNAME=$(printf 'N%.0s' {1..200})
LONGOBJ=$(printf 'O%.0s' {1..200})
CLIX=CL-$(printf 'L%.0s' {1..197})
expect_ok kam eval "kam.tx(function() db.clients:insert{id = '$CLIX', name = '$LONGNAME', objective = '$LONGOBJ'} end)"
cp "$BOOK" ix/book.db
_run "$KAM_BIN" --config ix/config/kam.yaml --db ix/book.db stats
if [ "$RC" -eq 1 ] && grep -q "index clients.name.objective cannot be built: clients $CLIX: fields name, objective" "$ERR"
then _pass; else _fail 'an index that cannot hold the book'"'"'s values' "exit $RC"; fi
expect_ok kam eval "kam.tx(function() db.clients:delete('$CLIX') end)"
snapshot "$T/base"

# ---- 6. text that is not UTF-8, through Lua -----------------------------------

expect_fail 1 'clients CL-U8: field name' kam eval 'kam.tx(function() db.clients:insert{id = "CL-U8", name = "caf\xe9"} end)'
stderr_has 'Lua Latin-1' 'UTF-8'
expect_fail 1 'field kpis' kam eval 'kam.tx(function() db.clients:insert{id = "CL-U9", name = "x", kpis = {"ok", {k = "\xc0\xaf"}}} end)'
expect_fail 1 'clients CL-IN1: field city' kam eval 'kam.tx(function() db.clients:update("CL-IN1", {city = "Hu\xe9"}) end)'
unchanged 'text that is not UTF-8 (Lua)'

# ---- other readers' lies --------------------------------------------------------

# YAML: a NUL in a quoted scalar no longer cuts the text
printf 'clients:\n  - {id: CL-NUL, name: "abc\\0def"}\n' >nul.yaml
refused nul.yaml
stderr_has 'YAML \0' 'nul.yaml:2:'
# YAML: a key twice in a record or a map
printf 'clients:\n  - id: CL-DK\n    name: first\n    name: second\n' >dupkey.yaml
refused dupkey.yaml
stderr_has 'YAML duplicate key' "dupkey.yaml:4:5: key 'name' appears twice"
printf 'clients:\n  - {id: CL-DK2, name: x, kpis: [{a: 1, a: 2}]}\n' >dupkey2.yaml
refused dupkey2.yaml
# YAML: a second document is not silently dropped
printf 'clients:\n  - {id: CL-2D1, name: one}\n---\nclients:\n  - {id: CL-2D2, name: two}\n' >twodocs.yaml
refused twodocs.yaml
stderr_has 'YAML second document' 'twodocs.yaml:3:'
# YAML: values in lists and maps are numbers only when written as numbers
printf 'clients:\n  - {id: CL-YN, name: x, kpis: [nan, inf, 0x10, 1_000, 12, -1.5e3, "7"]}\n' >ynum.yaml
accepted ynum.yaml
expect_eq 'string string number string number number string' kam eval 'local t = {}
  for _, v in ipairs(db.clients:get("CL-YN").kpis) do t[#t + 1] = type(v) end return table.concat(t, " ")'
expect_eq 'nan inf 16 1_000 12 -1500 7' kam eval 'local t = {}
  for _, v in ipairs(db.clients:get("CL-YN").kpis) do t[#t + 1] = tostring(math.type(v) == "float" and math.tointeger(v) or v) end return table.concat(t, " ")'
printf 'clients:\n  - {id: CL-YB, name: x, kpis: [1e999]}\n' >ybig.yaml
refused ybig.yaml
printf 'clients:\n  - {id: CL-YB, name: x, kpis: [12345678901234567890]}\n' >ybig2.yaml
refused ybig2.yaml
# CSV: a list cell is strict JSON too, located at its cell
printf 'id,name,kpis\nCL-CJ1,x,"[""a""]x"\n' >cjson.csv
refused cjson.csv --into clients
stderr_has 'CSV list cell' 'cjson.csv:2:3: '
printf 'id,name,kpis\nCL-CJ2,x,[01]\n' >cjson2.csv
refused cjson2.csv --into clients
# CSV: a value under a column with no name is not dropped
printf 'id,name,\nCL-NH1,x,\nCL-NH2,y,lost\n' >noname.csv
refused noname.csv --into clients
stderr_has 'unnamed column' 'noname.csv:3:3: '
# CSV: .tsv files are tab-separated
printf 'id\tname\tcity\nCL-TSV\tTab, Separated\tHuế\n' >clients.tsv
accepted clients.tsv
expect_eq 'Tab, Separated|Huế' kam eval 'local c = db.clients:get("CL-TSV") return c.name .. "|" .. c.city'

finish
