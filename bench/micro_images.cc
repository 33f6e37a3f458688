// Image container encode/decode with many small messages (an mm image of a big process has
// tens of thousands of VMAs).
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "engine/images/image_format.h"
#include "engine/images/image_io.h"
#include "engine/images/mm.pb.h"

namespace {

using stasis::images::ImageKind;

std::vector<std::string> VmaBodies(size_t count) {
  std::vector<std::string> bodies;
  bodies.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    stasis::img::Vma vma;
    vma.set_start(0x7f0000000000ull + i * 0x3000);
    vma.set_end(vma.start() + 0x2000);
    vma.set_prot(3);
    vma.set_flags(0x22);
    vma.set_kind(stasis::img::VMA_FILE_PRIVATE);
    vma.set_path("/usr/lib/x86_64-linux-gnu/libexample.so." + std::to_string(i % 97));
    vma.set_inode(1000 + i);
    bodies.push_back(vma.SerializeAsString());
  }
  return bodies;
}

void BM_EncodeMessageImage(benchmark::State& state) {
  const auto bodies = VmaBodies(static_cast<size_t>(state.range(0)));
  size_t bytes = 0;
  for (auto _ : state) {
    std::string file = stasis::images::EncodeMessageImage(ImageKind::kMm, bodies);
    bytes = file.size();
    benchmark::DoNotOptimize(file);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
}
BENCHMARK(BM_EncodeMessageImage)->Arg(1000)->Arg(50000);

void BM_DecodeAndParseImage(benchmark::State& state) {
  const std::string file =
      stasis::images::EncodeMessageImage(ImageKind::kMm, VmaBodies(static_cast<size_t>(state.range(0))));
  std::span<const uint8_t> span(reinterpret_cast<const uint8_t*>(file.data()), file.size());
  for (auto _ : state) {
    auto vmas = stasis::images::ParseMessages<stasis::img::Vma>(span, ImageKind::kMm, "mm-1.img");
    if (!vmas.ok()) {
      state.SkipWithError(vmas.error().message().c_str());
      break;
    }
    benchmark::DoNotOptimize(vmas->data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * file.size()));
}
BENCHMARK(BM_DecodeAndParseImage)->Arg(1000)->Arg(50000);

}  // namespace
