#!/usr/bin/env bash
# `make bench`: the Google Benchmark micro benchmarks, then the freeze-downtime benchmark.
#   ci/bench.sh BUILD_DIR     (env: BENCH_MIB=1024 BENCH_ZERO_MIB=64 BENCH_MIN_TIME=0.2)
set -euo pipefail
BUILD=${1:?usage: ci/bench.sh BUILD_DIR}
ROOT=$(cd "$(dirname "$0")/.." && pwd)

cmake --build "$BUILD" --target stasis stasis_bench stasis_bench_workload

echo "== micro benchmarks"
"$BUILD/bench/stasis_bench" --benchmark_min_time="${BENCH_MIN_TIME:-0.2}"

echo "== freeze downtime"
"$ROOT/bench/freeze_downtime.sh" --stasis "$BUILD/stasis" --workload "$BUILD/bench/stasis_bench_workload" \
  --mib "${BENCH_MIB:-1024}" --zero-mib "${BENCH_ZERO_MIB:-64}" --workdir "$BUILD/bench/freeze-run"
