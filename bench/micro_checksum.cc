// CRC-32C over a page run, the checksum every image and every page run carries.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "engine/common/crc32c.h"

namespace {

void BM_Crc32c(benchmark::State& state) {
  std::vector<uint8_t> data(static_cast<size_t>(state.range(0)));
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (auto& b : data) b = static_cast<uint8_t>((x = x * 6364136223846793005ull + 1) >> 56);
  for (auto _ : state) benchmark::DoNotOptimize(stasis::Crc32c(0, data.data(), data.size()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Crc32c)->Arg(4096)->Arg(1 << 20);

}  // namespace
