#!/usr/bin/env bash
# Usage: ci/test.sh BUILD
# Everything CI checks, in order, stopping at the first failure with one clear line:
#   1. unit tests (ctest)
#   2. the zdtm suite through dump and restore on the running kernel (ci/zdtm.sh)
#   3. programs nobody here wrote (sleep, a bash loop, python3 threads) through dump/restore
#   4. the fuzzing smoke (fuzz/smoke.sh), if present
#   5. the damage sweep, sampled (fuzz/sweep.sh --every 17), if present
#   6. the kernel-matrix smoke (kernels/smoke.sh), if present
# Ends with each step's summary and time. Budget: well under 25 minutes on 2 cores.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
(($# == 1)) || { echo "usage: ci/test.sh BUILD" >&2; exit 2; }
build=$(cd "$1" 2>/dev/null && pwd) || { echo "ci/test.sh: build directory '$1' does not exist" >&2; exit 2; }

summaries=()
logdir=$build/ci-test
mkdir -p "$logdir"

# Totals over the steps that count tests (ctest, zdtm, external), as the closing line.
print_totals() {
  local p=0 f=0 k=0 line n
  if line=$(grep -E 'tests failed out of [0-9]+' "$logdir/unit.log" 2>/dev/null | tail -n 1); then
    n=$(sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\1 \2/' <<<"$line")
    f=$((f + ${n% *})); p=$((p + ${n#* } - ${n% *}))
  fi
  for step in zdtm external; do
    line=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$logdir/$step.log" 2>/dev/null | tail -n 1) || continue
    [[ $line =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed(,\ ([0-9]+)\ skipped)? ]] || continue
    p=$((p + BASH_REMATCH[1])); f=$((f + BASH_REMATCH[2])); k=$((k + ${BASH_REMATCH[4]:-0}))
  done
  echo "test: $p passed, $f failed, $k skipped"
}

print_summaries() {
  echo "=== ci/test.sh summary"
  for s in "${summaries[@]}"; do echo "  $s"; done
}

# run_step NAME SUMMARY_REGEX COMMAND...: runs COMMAND with its output shown and kept in
# $logdir/NAME.log; records the last line matching SUMMARY_REGEX; stops everything on failure.
run_step() {
  local name=$1 pattern=$2
  shift 2
  echo "=== $name: $*"
  local start=$SECONDS
  "$@" 2>&1 | tee "$logdir/$name.log"
  local rc=${PIPESTATUS[0]}
  local summary
  summary=$(grep -E "$pattern" "$logdir/$name.log" | tail -n 1)
  summaries+=("$name: ${summary:-(no summary line)} [$((SECONDS - start))s, exit $rc]")
  if ((rc != 0)); then
    print_summaries
    echo "ci/test.sh: FAILED at step '$name' (exit $rc); full output in $logdir/$name.log" >&2
    print_totals
    exit 1
  fi
}

run_step unit 'tests passed|tests failed|No tests were found' \
  ctest --test-dir "$build" --output-on-failure -j "$(nproc)" --timeout 300
run_step zdtm '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' \
  "$root/ci/zdtm.sh" "$build" host "" ""
run_step external '^external: [0-9]+ passed' "$root/ci/external.sh" "$build"
if [[ -x $root/fuzz/smoke.sh ]]; then
  run_step fuzz-smoke 'pass|PASS|ok|OK|fail|FAIL' "$root/fuzz/smoke.sh" "$build"
else
  summaries+=("fuzz-smoke: skipped (fuzz/smoke.sh not present)")
fi
if [[ -x $root/fuzz/sweep.sh ]]; then
  # Damaged real dumps through `stasis restore`: a sample (one byte in 17); `make sweep` flips all.
  run_step sweep-smoke '^sweep: ' "$root/fuzz/sweep.sh" "$build" --every 17
else
  summaries+=("sweep-smoke: skipped (fuzz/sweep.sh not present)")
fi
if [[ -x $root/kernels/smoke.sh ]]; then
  run_step kernels-smoke 'pass|PASS|ok|OK|fail|FAIL' "$root/kernels/smoke.sh" "$build"
else
  summaries+=("kernels-smoke: skipped (kernels/smoke.sh not present)")
fi
print_summaries
echo "ci/test.sh: all steps passed"
print_totals
