#!/usr/bin/env bash
# Usage: fuzz/smoke.sh [BUILD]   (BUILD: the main build directory, whose zdtm tests seed the corpus)
# The fuzzing step of `make test`: builds the fuzz targets (FUZZ_BUILD, default build-fuzz-clang,
# clang + ASan + UBSan), replays every input of fuzz/regressions/, then fuzzes each target for
# SMOKE_SECONDS (default 12) from the seed corpus, FUZZ_JOBS targets at a time. The corpus
# (FUZZ_BUILD/corpus) is cut from real dumps of BUILD's zdtm tests when BUILD has them, from
# synthetic image sets otherwise. Without clang it only replays the regressions.
# Budget: under 4 minutes on 2 cores once the build is done.
# Last line: "fuzz smoke: ok ..." or "fuzz smoke: FAIL ...".
set -euo pipefail
source "$(dirname "$0")/lib.sh"
seconds=${SMOKE_SECONDS:-12}

fuzz_configure
fuzz_build_targets

failed=0
while read -r target; do
  fuzz_replay "$target" || failed=$((failed + 1))
done < <(fuzz_targets)

if ((fuzz_can_fuzz)); then
  seeds=$fuzz_build/corpus
  main_build=${1:-}
  if [[ -n $main_build && -x $main_build/zdtm/zdtm-run && -x $main_build/stasis && $EUID == 0 ]]; then
    # Real dumps: made when missing, and again when the last corpus could only be synthetic.
    if [[ ! -d $seeds || $(cat "$seeds/.kind" 2>/dev/null) != real ]]; then
      STASIS_BUILD=$(cd "$main_build" && pwd) FUZZ_BUILD=$fuzz_build "$fuzz_root/fuzz/make-corpus.sh" "$seeds" 2>&1 | tail -n 1
    fi
  elif [[ ! -d $seeds ]]; then
    FUZZ_BUILD=$fuzz_build "$fuzz_root/fuzz/make-corpus.sh" --synthetic-only "$seeds" 2>&1 | tail -n 1
  fi
  # A fresh scratch corpus each time: the smoke checks today's code from the seeds, repeatably.
  scratch=$fuzz_build/smoke-corpus
  rm -rf "$scratch"
  fuzz_run_all "$seconds" "$scratch" "$seeds" || failed=$((failed + $?))
fi

n=$(fuzz_targets | wc -l)
if ((failed)); then
  echo "fuzz smoke: FAIL: $failed failure(s) over $n targets (findings under $fuzz_build/findings/)"
  exit 1
fi
if ((fuzz_can_fuzz)); then
  echo "fuzz smoke: ok: $n targets, regressions replayed, ${seconds}s of fuzzing each"
else
  echo "fuzz smoke: ok: $n targets, regressions replayed (no clang: no fuzzing)"
fi
