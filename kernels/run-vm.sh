#!/usr/bin/env bash
# Usage: kernels/run-vm.sh BUILD KERNEL RESTORE_KERNEL "TESTS" [zdtm-run args...]
# Runs the zdtm suite (or the listed TESTS) on a kernel of the matrix (kernels/defs/*.kernel).
#   RESTORE_KERNEL empty   one boot of KERNEL: every test dumped and restored there.
#   RESTORE_KERNEL set     cross-kernel: each test is dumped inside KERNEL (--dump-to), the
#                          images and work dirs travel on a virtio disk (a tar on the raw
#                          device), and are restored inside RESTORE_KERNEL (--restore-from).
# Either kernel may be "host": that phase runs natively, no VM. The extra args go to zdtm-run.
# Results: $STASIS_VM_OUT (default BUILD/kernels/runs/<label>/), one directory per phase
# (run | dump + restore) with status, output.log, files/{junit.xml,check.json,...}, and a
# summary file "result" (key=value: verdict, boot failures apart from test failures).
# Exit status: 0 all passed; 1 tests failed; 3 a boot failed; 4 timeout; 2/5 kernel warning/crash;
# 6 setup error (nothing ran).
# Environment: STASIS_VM_TIMEOUT (seconds per boot, 1500), STASIS_XFER_SIZE (transfer disk, 8G),
# STASIS_VM_KEEP=1 keeps the initrds and the transfer disk; see boot-vm.sh for the VM knobs.
# STASIS_CPU_BASELINE: for a dump on the host whose images go to a VM, the GLIBC_TUNABLES the
# dumped tests start with (default $GUEST_CPU_TUNABLES from lib/common.sh: no AVX-512, which
# the TCG guest CPU lacks); "none" starts them unmasked, and then every test whose libc used
# AVX-512 must be refused by the guest's restore (see README.md, "CPU features").
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"

(($# >= 4)) || kdie 'usage: kernels/run-vm.sh BUILD KERNEL RESTORE_KERNEL "TESTS" [zdtm-run args...]'
build=$(realpath -e "$1" 2>/dev/null) || kdie "build directory '$1' does not exist"
dump_kernel=$2 restore_kernel=$3 tests=$4
shift 4
runner_args=("$@")
[[ -n $dump_kernel ]] || kdie "KERNEL is empty"

zdtm_run="$build/zdtm/zdtm-run"
stasis="$build/stasis"
tests_dir="$build/zdtm/static"
[[ -x $stasis ]] || kdie "$stasis is not built (make build)"
[[ -x $zdtm_run ]] || kdie "the zdtm runner $zdtm_run is not built (make build)"

kdef_load "$dump_kernel"
if [[ -n $restore_kernel ]]; then
  kdef_load "$restore_kernel"
  label="$dump_kernel-to-$restore_kernel"
else
  label=$dump_kernel
fi
out=${STASIS_VM_OUT:-$build/kernels/runs/$label}
rm -rf "$out"
mkdir -p "$out"
out=$(realpath "$out")
timeout=${STASIS_VM_TIMEOUT:-1500}

# The same absolute paths on both sides of a migration: the runner keeps each test's work dir
# inside the transfer dir, and a restored process finds its files where it left them.
scratch="/tmp/stasis-vm.$label.$$"
xfer_dir="$scratch/xfer"
work_dir="$scratch/work"
cleanup() {
  rm -rf "$scratch"
  [[ -n ${STASIS_VM_KEEP:-} ]] || rm -f "$out"/*/initrd "$out/xfer.img"
}
trap cleanup EXIT

read -r -a test_list <<< "$tests"
# Guests get the host's RLIMIT_NOFILE: busybox init leaves 1024/4096, and an image with fds up to
# the host's limit (fd00 goes near it) cannot be restored where the restorer may not open them.
# A migration target is configured like its source; this makes the guest that target.
host_nofile=$(ulimit -Hn)
[[ $host_nofile =~ ^[0-9]+$ ]] || host_nofile=1048576
host_caps=$(awk '$1 == "CapPrm:" { print $2 }' /proc/self/status)

# run_guest_phase PHASE KERNEL: one boot running guest/zdtm-job.sh; output in $out/PHASE.
run_guest_phase() {
  local phase=$1 kernel=$2 dir="$out/$1" job rc=0
  job="$dir/job"
  mkdir -p "$job"
  cp "$KERNELS_DIR/guest/zdtm-job.sh" "$job/run.sh"
  {
    printf "ZDTM_RUN='%s'\nSTASIS='%s'\nTESTS_DIR='%s'\n" "$zdtm_run" "$stasis" "$tests_dir"
    printf "WORK_DIR='%s'\nXFER_DIR='%s'\nKERNEL_NAME='%s'\nPHASE='%s'\n" \
      "$work_dir" "$xfer_dir" "$kernel" "$phase"
    printf "NOFILE='%s'\n" "$host_nofile"
    # Dumped in a guest for a restore on this host: the tests start with this host's
    # capability set (the guest's root has CAP_SYS_RESOURCE, which this sandbox's root lacks,
    # and a restore cannot give back what the restorer does not hold).
    if [[ $phase == dump && $(kdef_load "$restore_kernel"; echo "$KDEF_KIND") == host ]]; then
      printf "CAPS='%s'\n" "$host_caps"
      # ...and with LD_BIND_NOW: ld.so sizes its lazy-binding XSAVE frame for the CPU it
      # started on (832 bytes in a TCG guest); on this AVX-512 host the same xsave writes
      # ~2.5 KiB there, and every restored process crashed at its first unresolved call.
      printf "BIND_NOW=1\n"
    fi
  } > "$job/env"
  printf '%s\n' "${runner_args[@]}" "${test_list[@]}" | grep -v '^$' > "$job/args" || true
  "$KERNELS_DIR/build-initramfs.sh" initrd "$build" "$kernel" "$job" "$dir/initrd"
  local disk=()
  [[ $phase != run ]] && disk=(--disk "$out/xfer.img")
  "$KERNELS_DIR/boot-vm.sh" --kernel "$kernel" --initrd "$dir/initrd" --out "$dir" \
    --label "$label:$phase" --timeout "$timeout" "${disk[@]}" || rc=$?
  return $rc
}

# run_host_phase PHASE: the same job, natively on the running kernel; the same result layout.
run_host_phase() {
  local phase=$1 dir="$out/$1" rc=0 start mode=()
  mkdir -p "$dir/files"
  start=$(date +%s)
  "$stasis" check --json > "$dir/files/check.json" 2> "$dir/files/check.err" || true
  [[ -s $dir/files/check.err ]] || rm -f "$dir/files/check.err"
  rm -rf "$xfer_dir" "$work_dir"
  mkdir -p "$xfer_dir" "$work_dir"
  local env=()
  case $phase in
    dump) mode=(--dump-to "$xfer_dir")
          # The images go to a lesser (TCG) CPU: start the tests the way an operator starts a
          # workload meant to migrate there. Only then: a host -> host run stays unmasked.
          if [[ $(kdef_load "$restore_kernel"; echo "$KDEF_KIND") != host ]]; then
            case ${STASIS_CPU_BASELINE:-$GUEST_CPU_TUNABLES} in
              none) kmsg "$label: STASIS_CPU_BASELINE=none: tests start with every CPU feature" ;;
              *) env=(GLIBC_TUNABLES="${STASIS_CPU_BASELINE:-$GUEST_CPU_TUNABLES}") ;;
            esac
          fi ;;
    restore) tar -xf "$out/xfer.img" --numeric-owner -C "$xfer_dir" ||
               { echo "verdict=job-failed" > "$dir/status"; kmsg "$label: cannot unpack the images"; return 1; }
             mode=(--restore-from "$xfer_dir") ;;
  esac
  set +e
  env "${env[@]}" "$zdtm_run" --stasis "$stasis" --tests-dir "$tests_dir" --work-dir "$work_dir" \
    --junit "$dir/files/junit.xml" --kernel host "${mode[@]}" "${runner_args[@]}" "${test_list[@]}" \
    2>&1 | tee "$dir/output.log" | sed -u "s/^/[$label:$phase] /" >&2
  rc=${PIPESTATUS[0]}
  set -e
  if [[ $phase == dump ]]; then
    tar -cf "$out/xfer.img" --numeric-owner --format=gnu -C "$xfer_dir" . || rc=91
  fi
  local verdict=ok
  ((rc == 0)) || verdict=job-failed
  printf 'verdict=%s\nreason=%s\nkernel=host\nrelease=%s\nlabel=%s\njob_rc=%s\nelapsed=%s\n' \
    "$verdict" "$( ((rc == 0)) || echo "zdtm-run exited with status $rc")" "$(uname -r)" \
    "$label:$phase" "$rc" "$(( $(date +%s) - start ))" > "$dir/status"
  kmsg "$label:$phase: $verdict on the host in $(( $(date +%s) - start ))s"
  return $rc
}

run_phase() {  # run_phase PHASE KERNEL
  kdef_load "$2"
  if [[ $KDEF_KIND == host ]]; then run_host_phase "$1"; else run_guest_phase "$1" "$2"; fi
}

# The guest writes a tar straight onto the raw transfer disk; busybox tar reads a device to its
# very end, so cut the image after the archive's end-of-archive blocks before the restore boot.
trim_xfer_image() {
  local img="$out/xfer.img" last
  last=$(tar -tRf "$img" 2>/dev/null | sed -n 's/^block \([0-9]*\): \*\* Block of NULs \*\*$/\1/p' |
         tail -n1)
  [[ -n $last ]] && truncate -s $(( (last + 2) * 512 )) "$img"
  return 0
}

phase_verdict() { sed -n 's/^verdict=//p' "$out/$1/status" 2>/dev/null || echo not-run; }
phase_summary() {
  grep -E '^(.*: )?[0-9]+ passed, [0-9]+ failed' "$out/$1/output.log" 2>/dev/null | tail -n1 || true
}

phases=()
if [[ -z $restore_kernel ]]; then
  phases=(run)
  run_phase run "$dump_kernel" || true
else
  phases=(dump restore)
  if [[ $(kdef_load "$dump_kernel"; echo "$KDEF_KIND") != host ]]; then
    truncate -s "${STASIS_XFER_SIZE:-8G}" "$out/xfer.img"
  fi
  run_phase dump "$dump_kernel" || true
  trim_xfer_image
  case $(phase_verdict dump) in
    ok|job-failed) run_phase restore "$restore_kernel" || true ;;
    *) kmsg "$label: no restore phase: the dump kernel did not complete ($(phase_verdict dump))" ;;
  esac
fi

# One verdict for the run: infrastructure and kernel trouble first, then test results.
verdict=ok reason= summary=
for p in "${phases[@]}"; do
  v=$(phase_verdict "$p")
  s=$(phase_summary "$p")
  summary+="${summary:+; }$p: ${s:-no summary line}"
  if [[ $verdict == ok || $verdict == tests-failed ]]; then
    case $v in
      ok) ;;
      job-failed) verdict=tests-failed
                  [[ -n $reason ]] || reason="$p: $(sed -n 's/^reason=//p' "$out/$p/status")" ;;
      not-run) ;;
      *) verdict=$v reason="$p: $(sed -n 's/^reason=//p' "$out/$p/status")" ;;
    esac
  fi
done
{
  echo "verdict=$verdict"
  echo "reason=$reason"
  echo "kernel=$dump_kernel"
  echo "restore_kernel=$restore_kernel"
  echo "label=$label"
  echo "phases=${phases[*]}"
  echo "summary=$summary"
} > "$out/result"
echo "run-vm: $label: $verdict${reason:+ ($reason)} - $summary" >&2
case $verdict in
  ok) exit 0 ;; tests-failed) exit 1 ;; kernel-warning) exit 2 ;; boot-failure) exit 3 ;;
  timeout) exit 4 ;; crashed) exit 5 ;; *) exit 6 ;;
esac
