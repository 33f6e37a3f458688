#!/usr/bin/env bash
# Usage: ci/matrix.sh BUILD [--shard i/n] [--jobs N] [--kernels "a b"] [--pairs "a:b c:d"]
#                           [--tests "t1 t2"] [--report-only]
# Runs the kernel matrix: every kernel of kernels/matrix.list (one boot each, the whole suite in
# it) and every ordered pair of kernels/pairs.list (dump in the first, restore in the second),
# then writes BUILD/matrix/: report.html, report.md, junit-<kernel>.xml, check-<kernel>.json.
#   --shard i/n    run only the entries whose index % n == i (0-based, like zdtm-run's --shard);
#                  shards' cells/ directories merge into one report with --report-only.
#   --jobs N       VMs at once (default 2, one vCPU each: most of a test is one busy thread, and
#                  TCG runs a vCPU per host thread; 1: one VM with 2 vCPUs).
# Exit status: 0 when every cell passed or is a listed known/expected failure.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/kernels/lib/common.sh"

(($#)) || kdie "usage: ci/matrix.sh BUILD [--shard i/n] [--jobs N] [--kernels ...] [--pairs ...] [--tests ...] [--report-only]"
build=$(realpath -e "$1" 2>/dev/null) || kdie "build directory '$1' does not exist"
shift
shard=0/1 jobs=${STASIS_MATRIX_JOBS:-2} kernels= pairs= tests=${TESTS:-} report_only=
while (($#)); do
  case $1 in
    --shard) shard=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --kernels) kernels=$2; shift 2 ;;
    --pairs) pairs=$2; shift 2 ;;
    --tests) tests=$2; shift 2 ;;
    --report-only) report_only=1; shift ;;
    *) kdie "unknown argument '$1'" ;;
  esac
done
[[ $shard =~ ^([0-9]+)/([0-9]+)$ ]] || kdie "--shard wants i/n, got '$shard'"
shard_i=${BASH_REMATCH[1]} shard_n=${BASH_REMATCH[2]}
((shard_n >= 1 && shard_i < shard_n)) || kdie "--shard $shard: need 0 <= i < n"
[[ $jobs =~ ^[12]$ ]] || kdie "--jobs is 1 or 2 on this machine (2 cores), got '$jobs'"

matrix="$build/matrix"
mkdir -p "$matrix/cells"

# The entries: "KERNEL" or "KERNEL RESTORE_KERNEL".
entries=()
if [[ -n $kernels || -n $pairs ]]; then
  for k in $kernels; do entries+=("$k"); done
  for p in $pairs; do entries+=("${p%%:*} ${p#*:}"); done
else
  while read -r k; do entries+=("$k"); done < <(klist_read "$KERNELS_DIR/matrix.list")
  while read -r a b; do entries+=("$a $b"); done < <(klist_read "$KERNELS_DIR/pairs.list")
fi
label_of() { local a b; read -r a b <<< "$1"; echo "$a${b:+-to-$b}"; }
for e in "${entries[@]}"; do
  read -r a b <<< "$e"
  kdef_load "$a"; [[ -z ${b:-} ]] || kdef_load "$b"
done
for e in "${entries[@]}"; do label_of "$e"; done > "$matrix/order"

if [[ -z $report_only ]]; then
  mine=()
  for i in "${!entries[@]}"; do
    ((i % shard_n == shard_i)) && mine+=("${entries[$i]}")
  done
  kmsg "shard $shard: ${#mine[@]} of ${#entries[@]} entries, $jobs VM(s) at a time"
  # Fetch first, one at a time: apt and dpkg are not worth racing.
  needed=$(for e in "${mine[@]}"; do echo $e; done | tr ' ' '\n' | sort -u)
  [[ -z $needed ]] || "$KERNELS_DIR/fetch.sh" $needed > /dev/null
  [[ $jobs == 2 ]] && export STASIS_VM_SMP=${STASIS_VM_SMP:-1}

  start=$(date +%s)
  run_entry() {
    local a b label
    read -r a b <<< "$1"
    label=$(label_of "$1")
    STASIS_VM_OUT="$matrix/cells/$label" "$KERNELS_DIR/run-vm.sh" "$build" "$a" "${b:-}" "$tests" \
      ${ZDTM_ARGS:-} > "$matrix/cells/.$label.log" 2>&1 || true
    sed -n 's/^run-vm: //p' "$matrix/cells/.$label.log" | tail -n1 >&2
  }
  running=0
  for e in "${mine[@]}"; do
    if ((running >= jobs)); then wait -n || true; running=$((running - 1)); fi
    kmsg "start: $(label_of "$e")"
    run_entry "$e" &
    running=$((running + 1))
  done
  wait || true
  kmsg "shard $shard done in $(( $(date +%s) - start ))s"
fi

python3 "$KERNELS_DIR/report.py" "$matrix"
