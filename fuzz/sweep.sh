#!/usr/bin/env bash
# Usage: fuzz/sweep.sh BUILD [--every N]      (`make sweep`: every byte; `make test`: --every 17)
# Damages real dumps one image file at a time and checks that `stasis restore` refuses each with
# one line naming the file and leaves no process behind (fuzz/sweep.py says exactly what is run).
# The dumps: zdtm tests SWEEP_TESTS (default: pipe01, two processes sharing pipes with queued data;
# fd00, files at high fd numbers) dumped with BUILD's zdtm-run --dump-to.
# Last line: "sweep: ok: ..." or "sweep: FAIL: ...".
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
die() { echo "sweep: FAIL: $*"; exit 2; }

(($# >= 1)) || die "usage: fuzz/sweep.sh BUILD [--every N]"
build=$(cd "$1" 2>/dev/null && pwd) || die "build directory '$1' does not exist"
shift
every=1
if (($#)); then
  [[ $1 == --every && $# == 2 && $2 =~ ^[1-9][0-9]*$ ]] || die "usage: fuzz/sweep.sh BUILD [--every N]"
  every=$2
fi
stasis=$build/stasis
runner=$build/zdtm/zdtm-run
[[ -x $stasis && -x $runner ]] || die "$stasis or $runner is not built"
((EUID == 0)) || die "needs root (dump and restore of the zdtm tests)"

read -ra tests <<<"${SWEEP_TESTS:-pipe01 fd00}"
for t in "${tests[@]}"; do
  [[ -x $build/zdtm/static/$t ]] || die "zdtm test $t is not built in $build"
done

# Absolute work paths: the dumped tests' files (outfile, pidfile) live under them.
tmp=$(mktemp -d "$build/sweep.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# Only the chosen tests, so that the dumps do not depend on every other test's metadata.
mkdir -p "$tmp/tests"
for t in "${tests[@]}"; do
  ln -s "$build/zdtm/static/$t" "$tmp/tests/$t"
  [[ -f $build/zdtm/static/$t.desc ]] && ln -s "$build/zdtm/static/$t.desc" "$tmp/tests/$t.desc"
done
if ! timeout 300 "$runner" --stasis "$stasis" --tests-dir "$tmp/tests" --work-dir "$tmp/zdtm-work" \
  --dump-to "$tmp/dumps" "${tests[@]}" >"$tmp/dump.log" 2>&1; then
  tail -n 20 "$tmp/dump.log"
  die "dumping ${tests[*]} failed: $(tail -n 1 "$tmp/dump.log")"
fi
sets=()
for t in "${tests[@]}"; do sets+=("$tmp/dumps/$t"); done

python3 "$root/fuzz/sweep.py" --stasis "$stasis" --work "$tmp/copies" --every "$every" --jobs "${SWEEP_JOBS:-2}" "${sets[@]}"
