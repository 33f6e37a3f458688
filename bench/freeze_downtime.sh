#!/usr/bin/env bash
# Freeze-downtime benchmark: how long `stasis dump -R` keeps a process holding N MiB frozen,
# how long `stasis restore` takes, and whether the restored memory is bit-identical.
#
#   bench/freeze_downtime.sh --stasis BUILD/stasis --workload BUILD/bench/stasis_bench_workload
#                            [--mib 1024] [--zero-mib 64] [--workdir DIR] [--keep]
#
# Steps: start the workload (setsid, detached); dump it with -R and read the frozen time the
# dump logs ("dump: frozen X s"); check the original is intact; kill it and wait until its pid
# is gone; restore the images with -d; have the restored process checksum its memory; kill it.
# Any failing step ends the run with one line naming the step, and exit status 1.
set -euo pipefail

STASIS= WORKLOAD= MIB=1024 ZERO_MIB=64 WORKDIR= KEEP=0
while (($#)); do
  case "$1" in
    --stasis) STASIS=$2; shift 2 ;;
    --workload) WORKLOAD=$2; shift 2 ;;
    --mib) MIB=$2; shift 2 ;;
    --zero-mib) ZERO_MIB=$2; shift 2 ;;
    --workdir) WORKDIR=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "freeze_downtime: unknown argument $1" >&2; exit 2 ;;
  esac
done

fail() { echo "freeze_downtime: $*" >&2; exit 1; }
step() { echo "freeze_downtime: $*"; }
[[ -x "$STASIS" ]] || fail "--stasis: '$STASIS' is not an executable"
[[ -x "$WORKLOAD" ]] || fail "--workload: '$WORKLOAD' is not an executable"
[[ "$MIB" =~ ^[0-9]+$ && "$ZERO_MIB" =~ ^[0-9]+$ && "$MIB" -gt 0 ]] || fail "--mib/--zero-mib need positive integers"

if [[ -z "$WORKDIR" ]]; then WORKDIR=$(mktemp -d /tmp/stasis-freeze.XXXXXX); else mkdir -p "$WORKDIR"; fi
IMAGES=$WORKDIR/images
rm -rf "$IMAGES" && mkdir -p "$IMAGES"
rm -f "$WORKDIR"/{workload.pid,ready,result,restored.pid}

PIDS_TO_KILL=()   # only processes this script started (the workload, then its restored copy)
cleanup() {
  for p in "${PIDS_TO_KILL[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  if ((KEEP == 0)); then rm -rf "$WORKDIR"; else echo "kept $WORKDIR"; fi
}
trap cleanup EXIT

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

wait_for_file() {  # path timeout_s
  local deadline=$((SECONDS + $2))
  until [[ -s "$1" ]]; do
    ((SECONDS < deadline)) || return 1
    sleep 0.05
  done
}

# pid 1 reaps orphans with a delay: the pid is only free once /proc/PID is gone.
wait_gone() {  # pid timeout_s
  local deadline=$((SECONDS + $2))
  while [[ -e /proc/$1 ]]; do
    ((SECONDS < deadline)) || return 1
    sleep 0.05
  done
}

# Asks the workload to checksum its memory; prints its answer line.
verify_memory() {  # pid
  rm -f "$WORKDIR/result"
  local deadline=$((SECONDS + 120))
  # Re-sent every second: a signal landing between the workload's flag check and pause()
  # would otherwise be lost.
  while [[ ! -s "$WORKDIR/result" ]]; do
    kill -USR1 "$1" 2>/dev/null || { echo "process $1 is gone"; return 1; }
    for _ in $(seq 20); do [[ -s "$WORKDIR/result" ]] && break; sleep 0.05; done
    ((SECONDS < deadline)) || { echo "no answer from pid $1 within 120 s"; return 1; }
  done
  cat "$WORKDIR/result"
}

last_line() { [[ -s "$1" ]] && tail -n 1 "$1" || echo "(no output)"; }

# 1. The workload, detached in its own session like a service.
setsid -f "$WORKLOAD" --mib "$MIB" --zero-mib "$ZERO_MIB" --pidfile "$WORKDIR/workload.pid" \
  --ready "$WORKDIR/ready" --result "$WORKDIR/result" </dev/null >/dev/null 2>"$WORKDIR/workload.err"
wait_for_file "$WORKDIR/workload.pid" 30 || fail "workload did not start: $(last_line "$WORKDIR/workload.err")"
PID=$(<"$WORKDIR/workload.pid")
PIDS_TO_KILL+=("$PID")
wait_for_file "$WORKDIR/ready" 300 || fail "workload $PID did not fill its memory in time"
EXPECTED=$(<"$WORKDIR/ready")
step "workload pid $PID holds $MIB MiB random + $ZERO_MIB MiB zero pages (crc32c $EXPECTED)"

# 2. Dump, leaving it running.
t0=$(now)
if ! "$STASIS" dump -R -t "$PID" -D "$IMAGES" -o dump.log -v4 2>"$WORKDIR/dump.err"; then
  fail "stasis dump -R -t $PID failed: $(last_line "$WORKDIR/dump.err")"
fi
t1=$(now)
DUMP_WALL=$(elapsed "$t0" "$t1")
FROZEN=$(grep -o 'dump: frozen [0-9.]* s' "$IMAGES/dump.log" | tail -n 1 | awk '{print $3}' || true)
[[ -n "$FROZEN" ]] || fail "dump log $IMAGES/dump.log has no 'dump: frozen X s' line"
IMAGE_BYTES=$(du -sb "$IMAGES" | awk '{print $1}')
step "dump -R: frozen $FROZEN s, wall $DUMP_WALL s"

# 3. The original must be unharmed.
ORIGINAL=$(verify_memory "$PID") || fail "original after dump: $ORIGINAL"
[[ "$ORIGINAL" == "$EXPECTED OK" ]] || fail "original after dump -R: memory changed ($ORIGINAL)"
step "original intact after dump -R"

# 4. Kill it and wait until its pid is free.
kill -9 "$PID"
wait_gone "$PID" 30 || fail "pid $PID still present 30 s after SIGKILL"

# 5. Restore, detached.
t2=$(now)
if ! "$STASIS" restore -d -D "$IMAGES" --pidfile "$WORKDIR/restored.pid" -o restore.log -v4 \
    2>"$WORKDIR/restore.err"; then
  fail "stasis restore -d -D $IMAGES failed: $(last_line "$WORKDIR/restore.err")"
fi
t3=$(now)
RESTORE_WALL=$(elapsed "$t2" "$t3")
step "restore -d: wall $RESTORE_WALL s"
RESTORE_REPORTED=$(grep -o 'restore: [0-9.]* s' "$IMAGES/restore.log" | tail -n 1 | awk '{print $2}' || true)
RESTORED_PID=$PID
[[ -s "$WORKDIR/restored.pid" ]] && RESTORED_PID=$(<"$WORKDIR/restored.pid")
[[ "$RESTORED_PID" == "$PID" ]] || fail "restored with pid $RESTORED_PID, dumped $PID"
[[ -e /proc/$PID ]] || fail "restore reported success but pid $PID does not exist"

# 6. Bit-identical memory after restore.
RESTORED=$(verify_memory "$PID") || fail "restored process: $RESTORED"
[[ "$RESTORED" == "$EXPECTED OK" ]] || fail "restored memory differs: $RESTORED"
kill -9 "$PID"
wait_gone "$PID" 30 || fail "restored pid $PID still present 30 s after SIGKILL"
PIDS_TO_KILL=()

rate() { awk -v mib="$MIB" -v s="$1" 'BEGIN { if (s > 0) printf "%.0f MiB/s", mib / s; else print "-" }'; }
printf '\nfreeze-downtime: %s MiB random + %s MiB zero pages, kernel %s\n' "$MIB" "$ZERO_MIB" "$(uname -r)"
printf '  %-34s %10s s  (%s)\n' "frozen (dump log)" "$FROZEN" "$(rate "$FROZEN")"
printf '  %-34s %10s s\n' "dump -R wall time" "$DUMP_WALL"
printf '  %-34s %10s MiB\n' "images" "$(awk -v b="$IMAGE_BYTES" 'BEGIN { printf "%.1f", b / 1048576 }')"
printf '  %-34s %10s\n' "original after dump" "intact"
printf '  %-34s %10s s  (%s)\n' "restore -d wall time" "$RESTORE_WALL" "$(rate "$RESTORE_WALL")"
[[ -n "$RESTORE_REPORTED" ]] && printf '  %-34s %10s s\n' "restore (restore log)" "$RESTORE_REPORTED"
printf '  %-34s %10s\n' "restored memory" "bit-identical (crc32c ${EXPECTED})"
