#!/usr/bin/env bash
# Usage: kernels/selftest.sh BUILD [KERNEL] [RESTORE_KERNEL]
# Tests the VM plumbing on its own, apart from the engine: each case boots a real guest and
# checks that boot-vm.sh / run-vm.sh classify it right.
#   channel     a run comes back over the result channel with its files and exit status
#   transfer    a dump-side directory reaches the restore kernel intact (checksummed)
#   warning     a kernel WARNING on the console fails the run as kernel-warning
#   panic       a guest that panics mid-job is "crashed", not "passed"
#   boot        a kernel that cannot start /init is a boot-failure, apart from test failures
#   timeout     a job past its deadline is killed and reported as timeout
# The runner here is selftest/fake-zdtm-run (checksums only); BUILD provides stasis if built.
# Takes about 30-60 s under TCG. Exit status 0 when every case behaved.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"

(($# >= 1)) || kdie "usage: kernels/selftest.sh BUILD [KERNEL] [RESTORE_KERNEL]"
build=$(realpath -e "$1") || kdie "build directory $1 does not exist"
kernel=${2:-6.12.117} restore_kernel=${3:-6.1.192}
work="$build/kernels/selftest"
rm -rf "$work"
mkdir -p "$work/fake/zdtm/static"
# A build tree of its own: the real engine (when there is one) next to the fake runner.
[[ -x $build/stasis ]] && cp "$build/stasis" "$work/fake/stasis"
[[ -x $work/fake/stasis ]] || printf '#!/bin/sh\necho "{}"\n' > "$work/fake/stasis"
chmod +x "$work/fake/stasis"
cp "$KERNELS_DIR/selftest/fake-zdtm-run" "$work/fake/zdtm/zdtm-run"

failures=0
expect() {  # expect NAME WANT GOT [STATUS-FILE]
  if [[ $2 == "$3" ]]; then
    echo "selftest: $1: ok ($3)"
  else
    echo "selftest: $1: FAILED: expected $2, got $3"
    failures=$((failures + 1))
    # CI keeps only this output: say why, and how the guest's console ended.
    if [[ -n ${4:-} && -f $4 ]]; then
      echo "selftest: $1: $(grep -m1 '^reason=' "$4")"
      local console
      console="$(dirname "$4")/console.log"
      [[ -f $console ]] && tail -n 8 "$console" | tr -d '\r' | sed "s/^/selftest: $1: console: /"
    fi
  fi
}
verdict_of() { sed -n 's/^verdict=//p' "$1" 2>/dev/null || echo missing; }

# Boots KERNEL with a one-off job script; prints the verdict.
boot_job() {  # boot_job NAME SCRIPT [boot-vm args...]
  local name=$1 script=$2; shift 2
  mkdir -p "$work/$name/job"
  printf '%s\n' "$script" > "$work/$name/job/run.sh"
  "$KERNELS_DIR/build-initramfs.sh" initrd "$work/fake" "$kernel" "$work/$name/job" \
    "$work/$name/initrd"
  "$KERNELS_DIR/boot-vm.sh" --kernel "$kernel" --initrd "$work/$name/initrd" \
    --out "$work/$name" --label "selftest:$name" "$@" > /dev/null 2>&1 || true
  rm -f "$work/$name/initrd"
  verdict_of "$work/$name/status"
}

"$KERNELS_DIR/fetch.sh" "$kernel" "$restore_kernel" > /dev/null

STASIS_VM_OUT="$work/channel" "$KERNELS_DIR/run-vm.sh" "$work/fake" "$kernel" "" \
  "pass-1 pass-2 skip-1" > /dev/null 2>&1 || true
expect channel ok "$(verdict_of "$work/channel/result")" "$work/channel/result"
if grep -q '<testcase classname="zdtm" name="pass-2"/>' "$work/channel/run/files/junit.xml" 2>/dev/null; then
  expect channel-files junit-returned junit-returned
else
  expect channel-files junit-returned missing
fi
expect channel-summary "run: 2 passed, 0 failed, 1 skipped" \
  "$(sed -n 's/^summary=//p' "$work/channel/result")"

STASIS_VM_OUT="$work/transfer" "$KERNELS_DIR/run-vm.sh" "$work/fake" "$kernel" "$restore_kernel" \
  "pass-1 pass-2" > /dev/null 2>&1 || true
expect transfer ok "$(verdict_of "$work/transfer/result")" "$work/transfer/result"
if grep -q "dumped on .*restored on" "$work/transfer/restore/output.log" 2>/dev/null; then
  expect transfer-crossed "two kernels" "two kernels"
else
  expect transfer-crossed "two kernels" "no cross-kernel restore seen"
fi

expect warning kernel-warning "$(boot_job warning \
  'echo "<4>WARNING: CPU: 0 PID: 1 at stasis-selftest (injected on purpose)" > /dev/kmsg')" \
  "$work/warning/status"
expect panic crashed "$(boot_job panic 'echo c > /proc/sysrq-trigger; sleep 5')" "$work/panic/status"
expect boot boot-failure "$(STASIS_VM_APPEND=rdinit=/no-such-init boot_job boot 'true')" "$work/boot/status"
expect timeout timeout "$(boot_job timeout 'echo started; sleep 600' --timeout 30)" "$work/timeout/status"

if ((failures)); then
  echo "selftest: $failures case(s) misbehaved; details under $work"
  exit 1
fi
echo "selftest: the VM plumbing works (outputs under $work)"
