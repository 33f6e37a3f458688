// /proc/PID/smaps parsing, done for every process of every dump.
#include <benchmark/benchmark.h>

#if __has_include("engine/proc/maps.h")
#include <sys/mman.h>

#include <string>
#include <vector>

#include "engine/common/fd.h"
#include "engine/proc/maps.h"

namespace {

// This process's smaps after mapping `extra` more VMAs (alternating protections so they
// cannot merge), read once; the benchmark parses the text.
std::string SmapsWithVmas(size_t extra, std::vector<stasis::ScopedMapping>* keep) {
  for (size_t i = 0; i < extra; ++i) {
    void* p = mmap(nullptr, 4096, (i % 2) ? PROT_READ : PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED) keep->emplace_back(p, 4096);
  }
  auto text = stasis::ReadFileToString("/proc/self/smaps");
  return text.ok() ? *text : std::string();
}

void BM_ParseSmaps(benchmark::State& state) {
  std::vector<stasis::ScopedMapping> keep;
  const std::string text = SmapsWithVmas(static_cast<size_t>(state.range(0)), &keep);
  size_t vmas = 0;
  for (auto _ : state) {
    auto parsed = stasis::proc::ParseSmaps(text);
    if (!parsed.ok()) {
      state.SkipWithError(parsed.error().message().c_str());
      break;
    }
    vmas = parsed->size();
    benchmark::DoNotOptimize(parsed->data());
  }
  state.counters["vmas"] = static_cast<double>(vmas);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_ParseSmaps)->Arg(0)->Arg(2000);

}  // namespace
#endif
