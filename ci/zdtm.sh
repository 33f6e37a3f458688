#!/usr/bin/env bash
# Usage: ci/zdtm.sh BUILD [KERNEL] [RESTORE_KERNEL] ["TESTS"] [zdtm-run args...]
# Runs the zdtm suite (or the space-separated TESTS) through dump and restore.
#   KERNEL=host (default), no RESTORE_KERNEL: natively on the running kernel, with
#     BUILD/zdtm/zdtm-run; JUnit XML in BUILD/zdtm/junit-host.xml, work dirs in BUILD/zdtm/work.
#   any other KERNEL, or a RESTORE_KERNEL (cross-kernel migration): kernels/run-vm.sh, the
#     kernel matrix's VM runner, with the same arguments.
# FLAVORS (environment, default "h ns"): the runner flavors, host and new namespaces; a
# --flavor among the extra args wins.
# Extra args go to zdtm-run (e.g. --iters 3, --no-cr, -v). Exit status: zdtm-run's (non-zero iff
# a test failed unexpectedly), 2 on a usage or set-up error.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

die() { echo "ci/zdtm.sh: $*" >&2; exit 2; }

(($# >= 1)) || die 'usage: ci/zdtm.sh BUILD [KERNEL] [RESTORE_KERNEL] ["TESTS"] [zdtm-run args...]'
build=$1
kernel=${2:-host}
restore_kernel=${3:-}
tests=${4:-}
shift $(($# < 4 ? $# : 4))
[[ -d $build ]] || die "build directory '$build' does not exist (run make first)"
build=$(cd "$build" && pwd)

if [[ $kernel == host && -z $restore_kernel ]]; then
  runner=$build/zdtm/zdtm-run
  [[ -x $runner ]] || die "$runner is not built (make build)"
  ((EUID == 0)) || echo "ci/zdtm.sh: warning: not root; tests that need root are skipped and dumps may fail" >&2
  read -ra names <<<"$tests"
  exec "$runner" --stasis "$build/stasis" --tests-dir "$build/zdtm/static" \
    --work-dir "$build/zdtm/work" --junit "$build/zdtm/junit-host.xml" --kernel host \
    --flavor "${FLAVORS:-h ns}" "$@" "${names[@]}"
fi

vm_runner=$root/kernels/run-vm.sh
[[ -x $vm_runner ]] || die "KERNEL=$kernel${restore_kernel:+ RESTORE_KERNEL=$restore_kernel} needs the kernel matrix (kernels/run-vm.sh), which is not in this tree; use KERNEL=host"
exec "$vm_runner" "$build" "$kernel" "$restore_kernel" "$tests" "$@"
