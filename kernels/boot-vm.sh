#!/usr/bin/env bash
# Usage: kernels/boot-vm.sh --kernel NAME --initrd FILE --out DIR [--disk IMG] [--label TEXT]
#                           [--timeout SECS] [--boot-timeout SECS]
# Boots one QEMU guest with that kernel and initrd (whose /init runs /job/run.sh, see guest/init),
# streams the job's progress to stderr, and leaves in DIR:
#   console.log   the kernel console (ttyS0)
#   channel.log   the raw result channel (ttyS1)
#   output.log    the job's output (stdout and stderr)
#   files/        the result files the job sent back
#   warnings.txt  console lines matching guest/console-patterns
#   status        key=value lines; verdict= is one of
#                 ok | job-failed | kernel-warning | crashed | timeout | boot-failure
# Exit status: 0 ok, 1 job-failed, 2 kernel-warning, 3 boot-failure, 4 timeout, 5 crashed.
# Environment: STASIS_VM_ACCEL=auto|kvm|tcg, STASIS_VM_CPU (TCG CPU model, $GUEST_TCG_CPU),
#              STASIS_VM_SMP (2), STASIS_VM_MEM (MiB, 2048),
#              STASIS_VM_APPEND (extra kernel command line).
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"

kernel= initrd= out= disk= label= timeout=1500 boot_timeout=120
while (($#)); do
  case $1 in
    --kernel) kernel=$2; shift 2 ;;
    --initrd) initrd=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --disk) disk=$2; shift 2 ;;
    --label) label=$2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    --boot-timeout) boot_timeout=$2; shift 2 ;;
    *) kdie "unknown argument '$1' (see the header of $0)" ;;
  esac
done
[[ -n $kernel && -n $initrd && -n $out ]] || kdie "--kernel, --initrd and --out are required"
[[ $timeout =~ ^[0-9]+$ && $boot_timeout =~ ^[0-9]+$ ]] || kdie "timeouts are whole seconds"
[[ -f $initrd ]] || kdie "initrd $initrd does not exist"
kdef_load "$kernel"
[[ $KDEF_KIND == debian ]] || kdie "kernel '$kernel' is not booted in a VM (kind=$KDEF_KIND)"
label=${label:-$kernel}
dir=$(kdef_unpack_dir)
[[ -f $dir/.complete ]] || "$KERNELS_DIR/fetch.sh" "$kernel" > /dev/null
vmlinuz="$dir/boot/vmlinuz-$KDEF_RELEASE"
command -v qemu-system-x86_64 > /dev/null || kdie "qemu-system-x86_64 is not installed (ci/deps.sh)"

mkdir -p "$out"
rm -rf "$out/files"; mkdir -p "$out/files"
: > "$out/console.log"; : > "$out/channel.log"; : > "$out/warnings.txt"

# KVM when it can really run a guest, else TCG. /dev/kvm may exist and still be unusable (a
# nested host refusing MSRs aborts QEMU at the first vCPU run), so probe by booting a tiny guest
# once per host boot.
kvm_usable() {
  [[ -r /dev/kvm && -w /dev/kvm ]] || return 1
  local boot_id stamp probe
  boot_id=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null || echo unknown)
  stamp="$KERNEL_CACHE/.kvm-probe-$boot_id"
  if [[ ! -f $stamp ]]; then
    probe=$(mktemp -d)
    mkdir -p "$probe/root/bin"
    cp "$(readlink -f /bin/busybox)" "$probe/root/bin/busybox"
    printf '#!/bin/busybox sh\n/bin/busybox mount -t devtmpfs d /dev\n%s\n%s\n' \
      'echo kvm-ok > /dev/ttyS1' '/bin/busybox poweroff -f' > "$probe/root/init"
    sed -i 's/^echo /\/bin\/busybox echo /' "$probe/root/init"
    chmod +x "$probe/root/init"; mkdir -p "$probe/root/dev"
    (cd "$probe/root" && find . | cpio -o -H newc -R 0:0 --quiet) > "$probe/initrd"
    timeout 30 qemu-system-x86_64 -nodefaults -no-user-config -accel kvm -cpu host -m 256 \
      -kernel "$vmlinuz" -initrd "$probe/initrd" -append "console=ttyS0 panic=-1 quiet" \
      -display none -monitor none -serial null -serial "file:$probe/out" -no-reboot \
      > /dev/null 2>&1 || true
    if grep -q kvm-ok "$probe/out" 2>/dev/null; then echo yes; else echo no; fi > "$stamp"
    rm -rf "$probe"
  fi
  [[ $(cat "$stamp") == yes ]]
}

accel=${STASIS_VM_ACCEL:-auto}
smp=${STASIS_VM_SMP:-2}
mem=${STASIS_VM_MEM:-2048}
if [[ $accel == auto ]]; then
  if kvm_usable; then accel=kvm; else accel=tcg; fi
fi
case $accel in
  kvm) accel_args=(-accel kvm -cpu host) ;;
  # TCG's "max" CPU has AVX2 but no AVX-512/AMX: a host dump using them must be refused here.
  # It also has LA57, and a 5-level-paging guest has a larger user address space (TASK_SIZE)
  # than this host and most servers: an engine that assumes the wrong top would pass in the
  # guest and fail on real machines. Off by default, like the host. See GUEST_TCG_CPU for why
  # PKU and MPX are off too.
  tcg) accel_args=(-accel tcg,thread=multi -cpu "${STASIS_VM_CPU:-$GUEST_TCG_CPU}") ;;
  *) kdie "STASIS_VM_ACCEL must be auto, kvm or tcg" ;;
esac
# no_timer_check: under TCG on a busy host the kernel's IO-APIC timer check can miss its ticks and
# panic ("IO-APIC + timer doesn't work!") before /init runs: a boot failure that says nothing
# about the kernel under test. Cloud images boot with the same flag for the same reason.
append="console=ttyS0 panic=-1 loglevel=5 no_timer_check $KDEF_CMDLINE ${STASIS_VM_APPEND:-}"
qemu=(qemu-system-x86_64 -nodefaults -no-user-config -machine pc "${accel_args[@]}"
      -smp "$smp" -m "$mem" -kernel "$vmlinuz" -initrd "$initrd" -append "$append"
      -display none -monitor none -no-reboot
      -serial "file:$out/console.log" -serial "file:$out/channel.log")
if [[ -n $disk ]]; then
  qemu+=(-drive "file=$disk,format=raw,if=virtio,cache=unsafe")
fi
printf '%q ' "${qemu[@]}" > "$out/qemu.cmd"; echo >> "$out/qemu.cmd"

start=$(date +%s)
setsid "${qemu[@]}" > "$out/qemu.log" 2>&1 < /dev/null &
qpid=$!
stop_qemu() {
  kill -TERM "$qpid" 2>/dev/null || return 0
  for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$qpid" 2>/dev/null || return 0; sleep 0.5; done
  kill -KILL "$qpid" 2>/dev/null || true
}
trap 'stop_qemu' EXIT
trap 'stop_qemu; exit 130' INT TERM

# Follow the channel: print progress as it comes, watch the boot and overall deadlines.
shown=0 hello=0 why=
while kill -0 "$qpid" 2>/dev/null; do
  sleep 0.5
  now=$(date +%s)
  if ((hello == 0)) && grep -q '^@@stasis-guest hello' "$out/channel.log"; then hello=1; fi
  total=$(wc -l < "$out/channel.log")
  if ((total > shown)); then
    sed -n "$((shown + 1)),${total}p" "$out/channel.log" | tr -d '\r' |
      sed -n 's/^@@log /['"$label"'] /p' >&2
    shown=$total
  fi
  if ((hello == 0 && now - start > boot_timeout)); then why="boot-timeout"; break; fi
  if ((now - start > timeout)); then why="timeout"; break; fi
done
stop_qemu
wait "$qpid" 2>/dev/null && qrc=0 || qrc=$?
trap - EXIT
elapsed=$(( $(date +%s) - start ))
grep -q '^@@stasis-guest hello' "$out/channel.log" && hello=1

# Unframe the channel: result files, exit status, completion.
tr -d '\r' < "$out/channel.log" | awk -v dir="$out/files" '
  /^@@file / { name = substr($0, 8); gsub(/[^A-Za-z0-9._-]/, "_", name);
               cur = dir "/" name ".b64"; printf "" > cur; next }
  /^@@end$/ { close(cur); cur = ""; next }
  cur != "" { print >> cur; next }
  /^@@exit / { print substr($0, 8) > (dir "/../.exit"); next }
  /^@@done$/ { print "done" > (dir "/../.done"); next }'
for f in "$out"/files/*.b64; do
  [[ -e $f ]] || continue
  base64 -d < "$f" > "${f%.b64}" 2>/dev/null || echo "(undecodable)" > "${f%.b64}"
  rm -f "$f"
done
tr -d '\r' < "$out/channel.log" | sed -n 's/^@@log //p' > "$out/output.log"
job_rc=$(cat "$out/.exit" 2>/dev/null || echo none)
done_=$([[ -f $out/.done ]] && echo yes || echo no)
rm -f "$out/.exit" "$out/.done"

patterns=$(klist_read "$KERNELS_DIR/guest/console-patterns")
allow=$(klist_read "$KERNELS_DIR/guest/console-allow")
tr -d '\r' < "$out/console.log" | grep -E -e "$patterns" |
  { if [[ -n $allow ]]; then grep -v -E -e "$allow"; else cat; fi; } > "$out/warnings.txt" || true
warnings=$(wc -l < "$out/warnings.txt")

if ((hello == 0)) && [[ $why == timeout ]]; then
  verdict=timeout reason="the ${timeout}s deadline passed before /init started"
elif ((hello == 0)); then
  verdict=boot-failure
  if [[ $why == boot-timeout ]]; then
    reason="no sign of life from /init within ${boot_timeout}s"
  elif [[ -s $out/qemu.log ]]; then
    reason="qemu exited ($qrc) before /init ran: $(head -n1 "$out/qemu.log")"
  else
    reason="guest stopped before /init ran: $(grep -m1 -E 'Kernel panic|BUG:|Oops' "$out/console.log" |
             tr -d '\r' || echo "no panic on the console, see console.log")"
  fi
elif [[ $why == timeout ]]; then
  verdict=timeout reason="the job ran past ${timeout}s and was killed"
elif [[ $done_ != yes ]]; then
  verdict=crashed
  reason="the guest stopped before the job finished: $(head -n1 "$out/warnings.txt")"
elif ((warnings > 0)); then
  verdict=kernel-warning reason="$(head -n1 "$out/warnings.txt")"
elif [[ $job_rc != 0 ]]; then
  verdict=job-failed reason="the job exited with status $job_rc"
else
  verdict=ok reason=
fi

{
  echo "verdict=$verdict"
  echo "reason=$reason"
  echo "kernel=$kernel"
  echo "release=$KDEF_RELEASE"
  echo "label=$label"
  echo "accel=$accel"
  echo "job_rc=$job_rc"
  echo "warnings=$warnings"
  echo "elapsed=$elapsed"
  echo "cmdline=$append"
} > "$out/status"
kmsg "$label: $verdict${reason:+ ($reason)} in ${elapsed}s [$accel]"
case $verdict in
  ok) exit 0 ;; job-failed) exit 1 ;; kernel-warning) exit 2 ;; boot-failure) exit 3 ;;
  timeout) exit 4 ;; crashed) exit 5 ;;
esac
