# Shared by fuzz/smoke.sh, fuzz/make-corpus.sh and ci/fuzz.sh (sourced, not run).
#   FUZZ_BUILD   the fuzzing build directory (default: build-fuzz-clang): clang, ASan, UBSan and
#                coverage everywhere, configured with fuzz/cache.cmake. Without clang it is a
#                gcc build whose targets can only replay inputs (default: build-fuzz-replay).
#   FUZZ_JOBS    targets run side by side (default: nproc)

fuzz_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

fuzz_die() { echo "fuzz: $*" >&2; exit 2; }

# Sets fuzz_build and fuzz_can_fuzz (1 with libFuzzer, 0 replay-only); configures if needed.
fuzz_configure() {
  if command -v clang++ >/dev/null 2>&1; then
    fuzz_build=${FUZZ_BUILD:-$fuzz_root/build-fuzz-clang}
    if [[ ! -f $fuzz_build/CMakeCache.txt ]]; then
      cmake -S "$fuzz_root" -B "$fuzz_build" -G Ninja -C "$fuzz_root/fuzz/cache.cmake" >"$fuzz_build.configure.log" 2>&1 ||
        fuzz_die "configuring $fuzz_build failed; see $fuzz_build.configure.log"
    fi
    grep -q '^STASIS_BUILD_FUZZ:BOOL=ON' "$fuzz_build/CMakeCache.txt" &&
      grep -q '^CMAKE_CXX_FLAGS:.*fuzzer-no-link' "$fuzz_build/CMakeCache.txt" ||
      fuzz_die "$fuzz_build was not configured with fuzz/cache.cmake; remove it or set FUZZ_BUILD"
    fuzz_can_fuzz=1
  else
    echo "fuzz: no clang++: building replay-only targets with the default compiler" >&2
    fuzz_build=${FUZZ_BUILD:-$fuzz_root/build-fuzz-replay}
    if [[ ! -f $fuzz_build/CMakeCache.txt ]]; then
      cmake -S "$fuzz_root" -B "$fuzz_build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DSTASIS_BUILD_FUZZ=ON -DSTASIS_BUILD_TESTS=OFF -DSTASIS_BUILD_ZDTM=OFF -DSTASIS_BUILD_BENCH=OFF \
        -DCMAKE_CXX_FLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all" \
        >"$fuzz_build.configure.log" 2>&1 || fuzz_die "configuring $fuzz_build failed; see $fuzz_build.configure.log"
    fi
    fuzz_can_fuzz=0
  fi
  fuzz_jobs=${FUZZ_JOBS:-$(nproc)}
}

fuzz_build_targets() {
  cmake --build "$fuzz_build" --target fuzz_all -j "$fuzz_jobs" >"$fuzz_build/fuzz-build.log" 2>&1 || {
    grep -E 'error|FAILED' "$fuzz_build/fuzz-build.log" | head -n 5 >&2
    fuzz_die "building the fuzz targets failed; see $fuzz_build/fuzz-build.log"
  }
}

# Every fuzz target, by the name of its executable.
fuzz_targets() {
  local f
  for f in "$fuzz_root"/fuzz/*_fuzzer.cc; do
    f=${f##*/}
    echo "fuzz_${f%_fuzzer.cc}"
  done
}

fuzz_dict_args() {
  local dict=$fuzz_root/fuzz/dicts/$1.dict
  [[ -f $dict ]] || dict=$fuzz_root/fuzz/dicts/image.dict
  echo "-dict=$dict"
}

# Replays fuzz/regressions/TARGET/* through TARGET; prints one line, returns non-zero on failure.
fuzz_replay() {
  local target=$1 dir=$fuzz_root/fuzz/regressions/$1 bin=$fuzz_build/fuzz/$1
  local inputs=()
  [[ -d $dir ]] && mapfile -t inputs < <(find "$dir" -type f ! -name 'README*' | sort)
  if ((${#inputs[@]} == 0)); then
    echo "$target: 0 regression inputs"
    return 0
  fi
  local log=$fuzz_build/fuzz-logs/$target.replay.log
  mkdir -p "${log%/*}"
  if "$bin" -runs=1 "${inputs[@]}" >"$log" 2>&1; then
    echo "$target: ${#inputs[@]} regression inputs: ok"
  else
    echo "$target: FAIL: a regression input breaks it again: $(grep -m1 -E 'invariant broken|ERROR: |runtime error' "$log" || true)"
    echo "  log: $log"
    return 1
  fi
}

# fuzz_run TARGET SECONDS CORPUS_DIR [SEED_DIR]: fuzzes; findings go to FUZZ_BUILD/findings/TARGET/.
# Prints one line: runs, exec/s, coverage (edges), features, corpus size, and ok or FAIL.
fuzz_run() {
  local target=$1 seconds=$2 corpus=$3 seeds=${4:-}
  local bin=$fuzz_build/fuzz/$target findings=$fuzz_build/findings/$target
  local log=$fuzz_build/fuzz-logs/$target.log
  mkdir -p "$corpus" "$findings" "${log%/*}"
  local dirs=("$corpus")
  [[ -n $seeds && -d $seeds ]] && dirs+=("$seeds")
  local rc=0
  # -malloc_limit_mb: an allocation sized by an untrusted field is a finding, not a slow run.
  "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=512 \
    -max_len=262144 -print_final_stats=1 -artifact_prefix="$findings/" "$(fuzz_dict_args "$target")" \
    "${dirs[@]}" >"$log" 2>&1 || rc=$?
  local last runs eps
  last=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  local cov ft corp
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")
  local verdict=ok
  if ((rc != 0)); then
    verdict="FAIL: $(grep -m1 -E 'invariant broken|ERROR: |runtime error' "$log" || echo "exit $rc"); input in $findings/ (log $log)"
  fi
  printf '%-18s %4ss %9s %12s  %10s  %9s  %12s  %s\n' \
    "$target" "$seconds" "${runs:-?}" "${eps:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$verdict"
  [[ $verdict == ok ]]
}

# fuzz_run_all SECONDS CORPUS_ROOT [SEED_ROOT]: every target, FUZZ_JOBS at a time, lines in
# target order. Returns the number of failed targets (0: all ok).
fuzz_run_all() {
  local seconds=$1 corpus_root=$2 seed_root=${3:-} out=$fuzz_build/fuzz-logs/run-all
  rm -rf "$out"
  mkdir -p "$out"
  local targets
  mapfile -t targets < <(fuzz_targets)
  local i=0 t
  for t in "${targets[@]}"; do
    (if fuzz_run "$t" "$seconds" "$corpus_root/$t" "${seed_root:+$seed_root/$t}" >"$out/$t.line"; then
       echo 0 >"$out/$t.rc"
     else
       echo 1 >"$out/$t.rc"
     fi) &
    if (((++i) % fuzz_jobs == 0)); then wait; fi
  done
  wait
  local failed=0
  printf '%-18s %5s %9s %12s  %10s  %9s  %12s  %s\n' target time runs exec/s "cov(edges)" features "corpus(files)" verdict
  for t in "${targets[@]}"; do
    cat "$out/$t.line"
    [[ $(cat "$out/$t.rc") == 0 ]] || failed=$((failed + 1))
  done
  return "$failed"
}
