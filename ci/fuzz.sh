#!/usr/bin/env bash
# Usage: ci/fuzz.sh [SECONDS]      (`make fuzz [FUZZ_SECONDS=N]`; default 600 per target)
# Fuzzes every target for SECONDS, FUZZ_JOBS at a time, in FUZZ_BUILD (default build-fuzz-clang,
# clang + ASan + UBSan). The corpus grows across runs in FUZZ_BUILD/corpus-live/<target>,
# seeded by fuzz/make-corpus.sh (real dumps where they work). Prints one line per target with
# executions per second and coverage; findings land in FUZZ_BUILD/findings/<target>/: minimise
# one with `TARGET -minimize_crash=1 -runs=10000 INPUT` and add it to fuzz/regressions/<target>/.
set -euo pipefail
source "$(dirname "$0")/../fuzz/lib.sh"
seconds=${1:-600}
[[ $seconds =~ ^[0-9]+$ ]] || fuzz_die "usage: ci/fuzz.sh [SECONDS]"

fuzz_configure
((fuzz_can_fuzz)) || fuzz_die "fuzzing needs clang with libFuzzer (apt-get install clang)"
fuzz_build_targets
# Seeds from real dumps (STASIS_BUILD, default build/, with its zdtm tests); a corpus that could
# only be synthetic so far is made again once real dumps may work.
if [[ ! -d $fuzz_build/corpus || $(cat "$fuzz_build/corpus/.kind" 2>/dev/null) != real ]]; then
  FUZZ_BUILD=$fuzz_build "$fuzz_root/fuzz/make-corpus.sh" "$fuzz_build/corpus" 2>&1 | tail -n 3
fi

failed=0
while read -r target; do
  fuzz_replay "$target" || failed=$((failed + 1))
done < <(fuzz_targets)
fuzz_run_all "$seconds" "$fuzz_build/corpus-live" "$fuzz_build/corpus" || failed=$((failed + $?))
if ((failed)); then
  echo "fuzz: FAIL: $failed failure(s); findings under $fuzz_build/findings/"
  exit 1
fi
echo "fuzz: ok: every target ran ${seconds}s without a finding"
