// Memory that reads as zero stays zero: never touched, only read (zero page), explicitly
// written with zeros, and written then cleared, next to pages with data.
#include <sys/mman.h>

#include <cstring>

#include "zdtm/lib/pattern.h"
#include "zdtm/lib/zdtm.h"

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  constexpr size_t kPage = 4096, kPages = 256;
  auto* area = static_cast<unsigned char*>(
      mmap(nullptr, kPages * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  if (area == MAP_FAILED) t.Fail("mmap");
  // Page p: 0 untouched, 1 read (shared zero page), 2 written zero, 3 written then cleared,
  // 4 data. The pattern repeats so zero and data pages interleave.
  volatile unsigned char sink = 0;
  for (size_t p = 0; p < kPages; ++p) {
    unsigned char* page = area + p * kPage;
    switch (p % 5) {
      case 0: break;
      case 1: sink = sink + page[100]; break;
      case 2: std::memset(page, 0, kPage); break;
      case 3: zdtm::FillPattern(page, kPage, p); std::memset(page, 0, kPage); break;
      case 4: zdtm::FillPattern(page, kPage, p); break;
    }
  }

  t.Ready();
  t.WaitForTerm();

  for (size_t p = 0; p < kPages; ++p) {
    const unsigned char* page = area + p * kPage;
    long bad = p % 5 == 4 ? zdtm::FindPatternMismatch(page, kPage, p) : zdtm::FindNonZero(page, kPage);
    if (bad >= 0) t.Fail("page %zu (kind %zu) wrong at offset %ld", p, p % 5, bad);
  }
  t.Pass();
}
