# shellcheck shell=dash
# /job/run.sh for a zdtm run inside the guest (busybox ash, sourced by /init in a subshell).
# /job/env sets: ZDTM_RUN STASIS TESTS_DIR WORK_DIR XFER_DIR KERNEL_NAME PHASE (run|dump|restore)
# and NOFILE (the host's RLIMIT_NOFILE, see run-vm.sh), CAPS (dump phase for the host: its
# capability set, zdtm-run --caps) and BIND_NOW (the same: tests start with LD_BIND_NOW=1)
# /job/args holds the runner's arguments, one a line (options first, then test names).
# Result files go to $STASIS_OUT; /init sends them to the host on the result channel.

set --
while IFS= read -r a; do set -- "$@" "$a"; done < /job/args

echo "phase $PHASE on $(uname -r): $*"
if [ -n "${NOFILE:-}" ] && ! ulimit -n "$NOFILE" 2>/dev/null; then
  echo "stasis-job: cannot set RLIMIT_NOFILE to $NOFILE (kept $(ulimit -n))"
fi
"$STASIS" check --json > "$STASIS_OUT/check.json" 2> "$STASIS_OUT/check.err"
echo "stasis check --json: exit $?"
[ -s "$STASIS_OUT/check.err" ] || rm -f "$STASIS_OUT/check.err"

xfer_dev=/dev/vda
wait_for_disk() {
  i=0
  while [ ! -b $xfer_dev ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  [ -b $xfer_dev ] || { echo "stasis-job: the transfer disk $xfer_dev did not appear"; return 1; }
}

# Pids: a fresh boot hands out the same pids in the same order, so the restore boot's own
# runner and engine would take exactly the pids its tests were dumped with. The dump side puts
# its tests high in the default range (still below the host's pid_max of 32768, for a restore
# on the host); the restore side raises pid_max and starts its own processes above every pid
# an image can hold.
case $PHASE in
  dump) echo 30000 > /proc/sys/kernel/ns_last_pid ;;
  restore) echo 4194304 > /proc/sys/kernel/pid_max
           echo 100000 > /proc/sys/kernel/ns_last_pid ;;
esac

mkdir -p "$WORK_DIR" "$XFER_DIR"
case $PHASE in
  run) set -- "$@" ;;
  dump) set -- --dump-to "$XFER_DIR" "$@"
        [ -n "${CAPS:-}" ] && set -- --caps "$CAPS" "$@"
        [ -n "${BIND_NOW:-}" ] && export LD_BIND_NOW=1 ;;
  restore)
    wait_for_disk || exit 90
    if ! tar -xf $xfer_dev -C "$XFER_DIR"; then
      echo "stasis-job: cannot unpack the images from the transfer disk"; exit 90
    fi
    echo "stasis-job: images unpacked: $(du -sk "$XFER_DIR" | cut -f1) KiB"
    set -- --restore-from "$XFER_DIR" "$@" ;;
esac

"$ZDTM_RUN" --stasis "$STASIS" --tests-dir "$TESTS_DIR" --work-dir "$WORK_DIR" \
  --junit "$STASIS_OUT/junit.xml" --kernel "$KERNEL_NAME" "$@"
rc=$?
echo "zdtm-run: exit $rc"

if [ "$PHASE" = dump ]; then
  wait_for_disk || exit 91
  if ! tar -cf $xfer_dev -C "$XFER_DIR" .; then
    echo "stasis-job: cannot write the images to the transfer disk (too small? STASIS_XFER_SIZE)"
    exit 91
  fi
  sync
  echo "stasis-job: images written: $(du -sk "$XFER_DIR" | cut -f1) KiB"
fi
exit $rc
