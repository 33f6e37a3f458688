#!/usr/bin/env bash
# Programs nobody here wrote must survive dump + restore and keep working:
# coreutils sleep, a bash loop appending a counter to a file, python3 with several threads,
# python3 -m http.server answering curl with a keep-alive client connected across the restore.
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

# dump_restore NAME PID [OPTION...]: dump (killing it), wait for the pid to be free, restore
# detached; the options go to both.
dump_restore() {
  local name=$1 pid=$2 dir=$WORK/$1.img
  shift 2
  mkdir -p "$dir"
  if ! "$STASIS" dump -t "$pid" -D "$dir" -o dump.log -v4 "$@"; then
    tail -5 "$dir/dump.log" >&2; return 1
  fi
  gone "$pid" || { echo "pid $pid did not go away after dump" >&2; return 1; }
  if ! "$STASIS" restore -D "$dir" -d -o restore.log -v4 "$@"; then
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
        # Replaced atomically: a reader must never see the file truncated and still empty.
        with open(f"{d}/t{n}.new", "w") as f: f.write(str(i))
        os.replace(f"{d}/t{n}.new", f"{d}/t{n}")
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

# curl URL: the body, or nothing within 5 s.
fetch() { curl -s --max-time 5 "$1"; }

test_http_server() {
  command -v curl >/dev/null || { bad http-server "curl missing (ci/deps.sh)"; return; }
  local dir=$WORK/http; mkdir -p "$dir/www"
  echo "hello from $$" > "$dir/www/index.txt"
  local port; port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  # HTTP/1.1: the threading server keeps connections open, so the keep-alive client below holds
  # an established connection (served by its own thread) through the dump and the restore.
  launch python3 -m http.server -b 127.0.0.1 -d "$dir/www" -p HTTP/1.1 "$port"
  local pid=$! i
  pids+=("$pid")
  for i in $(seq 50); do [[ $(fetch "http://127.0.0.1:$port/index.txt") == "hello from $$" ]] && break; sleep 0.1; done
  [[ $(fetch "http://127.0.0.1:$port/index.txt") == "hello from $$" ]] || { bad http-server "no answer before the dump"; return; }
  cat > "$dir/client.py" <<'PY'
import http.client, os, sys, time
port, d = int(sys.argv[1]), sys.argv[2]
c = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
c.request("GET", "/index.txt"); first = c.getresponse().read()
local = c.sock.getsockname()
open(d + "/ka-ready", "w").write("1")
deadline = time.time() + 60
while not os.path.exists(d + "/ka-go") and time.time() < deadline: time.sleep(0.05)
try:
    c.request("GET", "/index.txt"); again = c.getresponse().read()
    same = c.sock is not None and c.sock.getsockname() == local
    result = "ok" if again == first and same else f"bad: same connection {same}, body {again!r}"
except Exception as e:
    result = f"error: {e!r}"
open(d + "/ka-result", "w").write(result)
PY
  launch python3 "$dir/client.py" "$port" "$dir"
  pids+=("$!")
  for i in $(seq 50); do [[ -e $dir/ka-ready ]] && break; sleep 0.1; done
  [[ -e $dir/ka-ready ]] || { bad http-server "keep-alive client did not connect"; return; }
  sleep 0.3
  dump_restore http "$pid" --tcp-established || { bad http-server "dump/restore failed"; return; }
  [[ $(fetch "http://127.0.0.1:$port/index.txt") == "hello from $$" ]] || { bad http-server "no answer from curl after restore"; return; }
  touch "$dir/ka-go"
  for i in $(seq 100); do [[ -e $dir/ka-result ]] && break; sleep 0.1; done
  local ka; ka=$(cat "$dir/ka-result" 2>/dev/null)
  kill -9 "$pid"
  [[ $ka == ok ]] || { bad http-server "curl answered, but the keep-alive connection: ${ka:-no result in 10 s}"; return; }
  ok "http-server (curl answers after restore; a keep-alive connection survived)"
}

test_sleep
test_bash_loop
test_python_threads
test_http_server
echo "external: $passed passed, $failed failed"
((failed == 0))
