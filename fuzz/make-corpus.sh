#!/usr/bin/env bash
# Usage: fuzz/make-corpus.sh [--synthetic-only] [OUT]      (default OUT: FUZZ_BUILD/corpus)
# Seed corpora for every fuzz target, made fresh from today's code instead of committed blobs
# that go stale: OUT/fuzz_<target>/ gets one input per image file (and one packed image set per
# dump for fuzz_image_set).
#   1. real dumps (unless --synthetic-only): zdtm tests dumped with `zdtm-run --dump-to`, and a
#      `sleep` dumped with `stasis dump`, from the main build (STASIS_BUILD, default build).
#      Skipped, with a note, when that build or the dump does not work yet.
#   2. synthetic image sets (fuzz/synth_images.cc), always: valid sets of every shape the
#      loader accepts, so every target has deep seeds even where no dump exists.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

synthetic_only=0
if [[ ${1:-} == --synthetic-only ]]; then synthetic_only=1; shift; fi
fuzz_configure
out=${1:-$fuzz_build/corpus}
cmake --build "$fuzz_build" --target stasis_fuzz_corpus -j "$fuzz_jobs" >/dev/null ||
  fuzz_die "cannot build stasis_fuzz_corpus"
tool=$fuzz_build/fuzz/stasis_fuzz_corpus

tmp=$(mktemp -d /tmp/stasis-corpus.XXXXXX)
started=()
cleanup() {
  local pid
  for pid in "${started[@]}"; do { kill -KILL "$pid" && wait "$pid"; } 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

sets=()
if ((!synthetic_only)); then
  main_build=${STASIS_BUILD:-$fuzz_root/build}
  stasis=$main_build/stasis
  runner=$main_build/zdtm/zdtm-run
  if [[ -x $runner && -x $stasis ]]; then
    wanted=(${ZDTM_CORPUS_TESTS:-pstree00 fd00 pipe00 socketpair00 file00 file_unlinked00 maps00 maps_shared00 memfd00 epoll00 eventfd00 timerfd00 signalfd00 inotify00 fifo00 sigpending00 zombie00 thread00 session00 fpu00})
    tests=()
    for t in "${wanted[@]}"; do [[ -x $main_build/zdtm/static/$t ]] && tests+=("$t"); done
    if ((${#tests[@]})); then
      # Only the chosen tests: the dumps need not depend on every other test's metadata.
      mkdir -p "$tmp/tests"
      for t in "${tests[@]}"; do
        ln -s "$main_build/zdtm/static/$t" "$tmp/tests/$t"
        [[ -f $main_build/zdtm/static/$t.desc ]] && ln -s "$main_build/zdtm/static/$t.desc" "$tmp/tests/$t.desc"
      done
      timeout 300 "$runner" --stasis "$stasis" --tests-dir "$tmp/tests" \
        --work-dir "$tmp/zdtm-work" --dump-to "$tmp/zdtm" "${tests[@]}" >"$tmp/zdtm.log" 2>&1 ||
        echo "make-corpus: some zdtm dumps failed ($(tail -n 1 "$tmp/zdtm.log")); using the rest" >&2
      for d in "$tmp"/zdtm/*/images; do
        [[ -f $d/inventory.img ]] || continue
        name=${d%/images}
        mv "$d" "$tmp/zdtm-${name##*/}" && sets+=("$tmp/zdtm-${name##*/}")
      done
    fi
  else
    echo "make-corpus: no $runner or $stasis: no zdtm dumps" >&2
  fi
  if [[ -x $stasis ]]; then
    setsid sleep 1000 </dev/null >/dev/null 2>&1 &
    started+=($!)
    sleep 0.2
    mkdir -p "$tmp/dump-sleep"
    if timeout 60 "$stasis" dump -t "${started[-1]}" -D "$tmp/dump-sleep" >"$tmp/dump.log" 2>&1 &&
      [[ -f $tmp/dump-sleep/inventory.img ]]; then
      sets+=("$tmp/dump-sleep")
    else
      echo "make-corpus: stasis dump of sleep failed: $(tail -n 1 "$tmp/dump.log")" >&2
    fi
  fi
  echo "make-corpus: ${#sets[@]} real image sets" >&2
fi

real=${#sets[@]}
"$tool" synth "$tmp/synth"
for d in "$tmp"/synth/*; do sets+=("$d"); done
rm -rf "$out"
"$tool" seeds "$out" "${sets[@]}"
# Read by fuzz/smoke.sh: a synthetic-only corpus is remade once real dumps become possible.
if ((real)); then echo real >"$out/.kind"; else echo synthetic >"$out/.kind"; fi
echo "make-corpus: $(find "$out" -type f ! -name .kind | wc -l) seed inputs from ${#sets[@]} image sets ($real real dumps) in $out"
