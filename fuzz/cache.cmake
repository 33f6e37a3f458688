# Initial cache for a fuzzing build directory: `cmake -S . -B build-fuzz-clang -G Ninja -C fuzz/cache.cmake`.
# Everything in it (engine libraries included) is built with clang, ASan, UBSan and libFuzzer's
# coverage instrumentation, so the targets see into the parsers they call.
set(CMAKE_C_COMPILER clang CACHE STRING "")
set(CMAKE_CXX_COMPILER clang++ CACHE STRING "")
set(CMAKE_BUILD_TYPE RelWithDebInfo CACHE STRING "")
set(STASIS_BUILD_FUZZ ON CACHE BOOL "")
# The fuzz targets need only stasis_core and stasis_restore: no unit tests, zdtm or benchmarks.
set(STASIS_BUILD_TESTS OFF CACHE BOOL "")
set(STASIS_BUILD_ZDTM OFF CACHE BOOL "")
set(STASIS_BUILD_BENCH OFF CACHE BOOL "")
set(STASIS_SANITIZE_FLAGS
    "-fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=all -fno-omit-frame-pointer")
set(CMAKE_C_FLAGS "${STASIS_SANITIZE_FLAGS}" CACHE STRING "")
set(CMAKE_CXX_FLAGS "${STASIS_SANITIZE_FLAGS}" CACHE STRING "")
