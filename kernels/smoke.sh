#!/usr/bin/env bash
# Usage: kernels/smoke.sh BUILD        (called by ci/test.sh, i.e. `make test`)
# The kernel matrix in miniature, a few minutes under TCG:
#   1. selftest.sh: the VM plumbing alone (channel, transfer, warning/panic/boot/timeout cases);
#   2. a handful of zdtm tests (kernels/smoke.tests) in one guest kernel;
#   3. the same tests across one kernel update (dump on 6.1.192, restore on 6.12.117);
#   4. `vagrant validate` of vagrant/Vagrantfile when vagrant is installed.
# Results under BUILD/kernels/smoke/. Exit status 0 only when every step passed.
# Environment: STASIS_SMOKE_KERNEL (6.12.117), STASIS_SMOKE_PAIR ("6.1.192 6.12.117").
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"

(($# == 1)) || kdie "usage: kernels/smoke.sh BUILD"
build=$(realpath -e "$1") || kdie "build directory $1 does not exist"
kernel=${STASIS_SMOKE_KERNEL:-6.12.117}
read -r pair_a pair_b <<< "${STASIS_SMOKE_PAIR:-6.1.192 6.12.117}"
out="$build/kernels/smoke"
rm -rf "$out"
mkdir -p "$out"
start=$(date +%s)
failed=()

step() { echo "smoke: $*" >&2; }

step "fetching $kernel, $pair_a, $pair_b"
"$KERNELS_DIR/fetch.sh" "$kernel" "$pair_a" "$pair_b" > /dev/null

step "1/4 VM plumbing self-test"
if "$KERNELS_DIR/selftest.sh" "$build" "$kernel" "$pair_a" > "$out/selftest.log" 2>&1; then
  step "plumbing ok"
else
  cat "$out/selftest.log" >&2
  failed+=(selftest)
fi

# The tests: those of smoke.tests that this build has.
tests=()
while read -r t; do
  if [[ -x $build/zdtm/static/$t ]]; then tests+=("$t"); else step "test $t is not built: left out"; fi
done < <(klist_read "$KERNELS_DIR/smoke.tests")

if [[ ! -x $build/zdtm/zdtm-run ]]; then
  step "2/4, 3/4: $build/zdtm/zdtm-run is not built"
  failed+=(zdtm-run-missing)
elif ((${#tests[@]} == 0)); then
  step "2/4, 3/4: none of the tests of kernels/smoke.tests is built"
  failed+=(no-tests)
else
  step "2/4 ${tests[*]} on $kernel"
  if STASIS_VM_OUT="$out/$kernel" STASIS_VM_TIMEOUT=300 \
       "$KERNELS_DIR/run-vm.sh" "$build" "$kernel" "" "${tests[*]}" 2> "$out/$kernel.log"; then
    step "$(sed -n 's/^summary=//p' "$out/$kernel/result")"
  else
    grep -E '^run-vm:|FAIL|KFAIL' "$out/$kernel.log" >&2 || tail -n 20 "$out/$kernel.log" >&2
    failed+=("$kernel")
  fi
  step "3/4 ${tests[*]} dumped on $pair_a, restored on $pair_b"
  if STASIS_VM_OUT="$out/$pair_a-to-$pair_b" STASIS_VM_TIMEOUT=300 \
       "$KERNELS_DIR/run-vm.sh" "$build" "$pair_a" "$pair_b" "${tests[*]}" 2> "$out/pair.log"; then
    step "$(sed -n 's/^summary=//p' "$out/$pair_a-to-$pair_b/result")"
  else
    grep -E '^run-vm:|FAIL|KFAIL' "$out/pair.log" >&2 || tail -n 20 "$out/pair.log" >&2
    failed+=("$pair_a-to-$pair_b")
  fi
fi

if command -v vagrant > /dev/null; then
  step "4/4 vagrant validate"
  (cd "$STASIS_ROOT/vagrant" && vagrant validate) >&2 || failed+=(vagrant-validate)
else
  step "4/4 vagrant is not installed: Vagrantfile not validated"
fi

elapsed=$(( $(date +%s) - start ))
if ((${#failed[@]})); then
  step "FAILED (${failed[*]}) in ${elapsed}s; details under $out"
  exit 1
fi
step "ok in ${elapsed}s"
