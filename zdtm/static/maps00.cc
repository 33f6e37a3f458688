// Private anonymous memory of several sizes keeps its contents bit-exact, pages never touched
// stay zero, and the mapping stays private (a child's write after restore is not seen).
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtm/lib/pattern.h"
#include "zdtm/lib/zdtm.h"

namespace {

constexpr size_t kPage = 4096;
constexpr size_t kSizes[] = {kPage, 3 * kPage, 1 << 20, (8 << 20) + kPage};
constexpr size_t kSparsePages = 64;

}  // namespace

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  void* regions[std::size(kSizes)];
  for (size_t i = 0; i < std::size(kSizes); ++i) {
    regions[i] = mmap(nullptr, kSizes[i], PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (regions[i] == MAP_FAILED) t.Fail("mmap %zu bytes failed", kSizes[i]);
    zdtm::FillPattern(regions[i], kSizes[i], 100 + i);
  }
  // Every third page touched: the rest must come back as zero, not as someone else's data.
  auto* sparse = static_cast<unsigned char*>(
      mmap(nullptr, kSparsePages * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  if (sparse == MAP_FAILED) t.Fail("mmap sparse failed");
  for (size_t p = 0; p < kSparsePages; p += 3) zdtm::FillPattern(sparse + p * kPage, kPage, 7000 + p);

  t.Ready();
  t.WaitForTerm();

  for (size_t i = 0; i < std::size(kSizes); ++i) {
    long bad = zdtm::FindPatternMismatch(regions[i], kSizes[i], 100 + i);
    if (bad >= 0) t.Fail("region %zu (%zu bytes at %p): mismatch at offset %ld", i, kSizes[i], regions[i], bad);
  }
  for (size_t p = 0; p < kSparsePages; ++p) {
    const unsigned char* page = sparse + p * kPage;
    long bad = p % 3 == 0 ? zdtm::FindPatternMismatch(page, kPage, 7000 + p) : zdtm::FindNonZero(page, kPage);
    if (bad >= 0) t.Fail("sparse page %zu: wrong byte at offset %ld (%s page)", p, bad, p % 3 ? "untouched" : "written");
  }
  pid_t child = fork();
  if (child == 0) {
    static_cast<unsigned char*>(regions[0])[0] ^= 0xff;
    _exit(0);
  }
  int status;
  waitpid(child, &status, 0);
  if (zdtm::FindPatternMismatch(regions[0], kSizes[0], 100) >= 0) t.Fail("a child's write became visible: mapping is not private");
  t.Pass();
}
