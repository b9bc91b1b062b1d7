# shellcheck shell=bash
# tmp.sh — the temporary folder of one test run and the projects in it,
# shared by every test driver (tests/e2e/lib.sh, tests/lua/run.sh,
# tests/security/run.sh):
#
#   . "$KAM_SRC/tests/tmp.sh"
#   tmp_dir kam-e2e                  # $T: a fresh folder, removed when the shell exits
#   tmp_project "$T/proj" scripts rules/lib    # a copy of config/ (and the folders named)
#
# KAM_KEEP=1 keeps the folder and says where it is, to look at after a failure.

tmp_dir() {
  T=$(mktemp -d "${TMPDIR:-/tmp}/${1:-kam}.XXXXXX") || { echo "tmp.sh: mktemp failed" >&2; exit 4; }
  export T
  if [ -n "${KAM_KEEP:-}" ]; then echo "kept: $T" >&2
  else trap 'rm -rf "$T"' EXIT
  fi
}

# tmp_project DIR [FOLDER...]: DIR/config is a copy of the shipped config/
# (kam.yaml finds the project's rules/ and scripts/ next to it), plus a copy
# of each source FOLDER (scripts, rules/lib ...) at the same place in DIR.
tmp_project() {
  local dir=$1 f
  shift
  mkdir -p "$dir/rules" "$dir/scripts" && cp -R "$KAM_SRC/config" "$dir/" || {
    echo "tmp.sh: building the project in $dir failed" >&2; exit 4; }
  for f in "$@"; do
    mkdir -p "$dir/$(dirname "$f")" && cp -R "$KAM_SRC/$f" "$dir/$(dirname "$f")/" || {
      echo "tmp.sh: copying $f into $dir failed" >&2; exit 4; }
  done
}
