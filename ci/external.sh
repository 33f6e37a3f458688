#!/usr/bin/env bash
# Programs nobody here wrote must survive dump + restore and keep working:
# coreutils sleep, a bash loop appending a counter to a file, python3 with several threads.
# Usage: ci/external.sh BUILD_DIR
set -uo pipefail
BUILD=${1:-build}
STASIS=$(realpath "$BUILD/stasis")
WORK=$(mktemp -d /tmp/stasis-external.XXXXXX)
passed=0 failed=0
pids=()

cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT

gone() { # wait until /proc/PID vanishes (pid 1 here reaps with a delay)
  local i
  for i in $(seq 100); do [[ -d /proc/$1 ]] || return 0; sleep 0.1; done
  return 1
}
# launch CMD...: starts CMD detached (setsid) with /dev/null for stdio and no other inherited
# fd (whatever runs this script may leak pipes, which are not what these tests are about).
launch() {
  (
    for fd in /proc/$BASHPID/fd/*; do
      fd=${fd##*/}
      ((fd > 2)) && eval "exec $fd>&-" 2>/dev/null
    done
    exec setsid "$@"
  ) </dev/null >/dev/null 2>&1 &
  disown "$!"  # killed on purpose at the end: no job-control noise
}
ok()   { echo "PASS $1"; passed=$((passed + 1)); }
bad()  { echo "FAIL $1: $2"; failed=$((failed + 1)); }

# dump_restore NAME PID: dump (killing it), wait for the pid to be free, restore detached.
dump_restore() {
  local name=$1 pid=$2 dir=$WORK/$1.img
  mkdir -p "$dir"
  if ! "$STASIS" dump -t "$pid" -D "$dir" -o dump.log -v4; then
    tail -5 "$dir/dump.log" >&2; return 1
  fi
  gone "$pid" || { echo "pid $pid did not go away after dump" >&2; return 1; }
  if ! "$STASIS" restore -D "$dir" -d -o restore.log -v4; then
    tail -5 "$dir/restore.log" >&2; return 1
  fi
  [[ -d /proc/$pid ]] || { echo "pid $pid missing after restore" >&2; return 1; }
}

test_sleep() {
  launch sleep 4
  local pid=$! start=$SECONDS
  pids+=("$pid")
  sleep 1
  dump_restore sleep "$pid" || { bad sleep "dump/restore failed"; return; }
  [[ $(readlink /proc/$pid/exe) == *sleep ]] || { bad sleep "restored exe is $(readlink /proc/$pid/exe)"; return; }
  gone "$pid" || { bad sleep "still sleeping 10 s later"; return; }
  local took=$((SECONDS - start))
  # It must neither restart its 4 s from zero nor be cut short (the freeze itself adds a little).
  if ((took >= 3 && took <= 8)); then ok "sleep (exited after ${took}s of 4s)"; else bad sleep "exited after ${took}s, expected ~4s"; fi
}

test_bash_loop() {
  local out=$WORK/counter.txt
  launch bash -c "i=0; while :; do i=\$((i+1)); echo \$i >> $out; sleep 0.05; done"
  local pid=$!
  pids+=("$pid")
  sleep 1
  dump_restore bash "$pid" || { bad bash-loop "dump/restore failed"; return; }
  local before; before=$(wc -l < "$out")
  sleep 1
  local after; after=$(wc -l < "$out")
  kill -9 -"$pid" 2>/dev/null; kill -9 "$pid" 2>/dev/null
  ((after > before)) || { bad bash-loop "counter stopped at $before"; return; }
  # Every line must be the previous plus one: no gap, no reset.
  if awk 'NR != $1 { exit 1 }' "$out"; then ok "bash-loop ($after lines, none lost)"; else bad bash-loop "counter has a gap or reset"; fi
}

test_python_threads() {
  command -v python3 >/dev/null || { bad python-threads "python3 missing"; return; }
  local dir=$WORK/py; mkdir -p "$dir"
  cat > "$dir/t.py" <<'PY'
import os, sys, threading, time
d = sys.argv[1]
def work(n):
    i = 0
    while True:
        i += 1
        with open(f"{d}/t{n}", "w") as f: f.write(str(i))
        time.sleep(0.02)
for n in range(4): threading.Thread(target=work, args=(n,), daemon=True).start()
while True: time.sleep(1)
PY
  launch python3 "$dir/t.py" "$dir"
  local pid=$!
  pids+=("$pid")
  sleep 1.5
  dump_restore python "$pid" || { bad python-threads "dump/restore failed"; return; }
  local n before=() ; for n in 0 1 2 3; do before[n]=$(cat "$dir/t$n"); done
  sleep 1
  for n in 0 1 2 3; do
    local now; now=$(cat "$dir/t$n")
    ((now > before[n])) || { bad python-threads "thread $n stuck at ${before[n]}"; kill -9 "$pid"; return; }
  done
  [[ $(ls /proc/$pid/task | wc -l) -ge 5 ]] || { bad python-threads "threads missing"; kill -9 "$pid"; return; }
  kill -9 "$pid"
  ok "python-threads (4 threads still counting)"
}

test_sleep
test_bash_loop
test_python_threads
echo "external: $passed passed, $failed failed"
((failed == 0))
