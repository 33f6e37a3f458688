// A private file mapping that was written keeps its copied-on-write pages, the file itself is
// untouched, and pages never written still show the file (a later pwrite() shows through them,
// as it does for page-cache-backed private pages).
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "zdtm/lib/pattern.h"
#include "zdtm/lib/self_proc.h"
#include "zdtm/lib/zdtm.h"

namespace {
constexpr size_t kPage = 4096, kPages = 16;
constexpr size_t kWritten[] = {2, 3, 7};
bool IsWritten(size_t p) {
  for (size_t w : kWritten)
    if (w == p) return true;
  return false;
}
}  // namespace

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  const char* path = "maps_file_private00.data";
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) t.Fail("create %s", path);
  std::vector<unsigned char> content(kPage * kPages);
  zdtm::FillPattern(content.data(), content.size(), 1);
  if (pwrite(fd, content.data(), content.size(), 0) != static_cast<ssize_t>(content.size())) t.Fail("pwrite");
  auto* map = static_cast<unsigned char*>(mmap(nullptr, kPage * kPages, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0));
  if (map == MAP_FAILED) t.Fail("mmap");
  for (size_t p : kWritten) zdtm::FillPattern(map + p * kPage, kPage, 2000 + p);
  volatile unsigned char sink = map[5 * kPage];  // read-faulted: a page-cache page, not a copy
  (void)sink;
  auto ro = static_cast<unsigned char*>(mmap(nullptr, kPage * kPages, PROT_READ, MAP_PRIVATE, fd, kPage * 0));
  if (ro == MAP_FAILED) t.Fail("mmap read-only");

  t.Ready();
  t.WaitForTerm();

  for (size_t p = 0; p < kPages; ++p) {
    const unsigned char* page = map + p * kPage;
    if (IsWritten(p)) {
      long bad = zdtm::FindPatternMismatch(page, kPage, 2000 + p);
      if (bad >= 0) t.Fail("written page %zu: mismatch at %ld", p, bad);
    } else if (std::memcmp(page, content.data() + p * kPage, kPage) != 0) {
      t.Fail("unwritten page %zu differs from the file", p);
    }
  }
  if (std::memcmp(ro, content.data(), content.size()) != 0) t.Fail("read-only private mapping differs from the file");
  std::vector<unsigned char> now(content.size());
  if (pread(fd, now.data(), now.size(), 0) != static_cast<ssize_t>(now.size()) || now != content)
    t.Fail("the file changed: private writes leaked into it");
  auto m = zdtm::FindMapping(map);
  if (!m || m->perms != "rw-p" || m->path.find(path) == std::string::npos)
    t.Fail("mapping is '%s %s', want rw-p of %s", m ? m->perms.c_str() : "-", m ? m->path.c_str() : "-", path);
  // Unwritten private pages are still the file's page cache: a write to the file shows through.
  unsigned char marker[16];
  zdtm::FillPattern(marker, sizeof(marker), 77);
  if (pwrite(fd, marker, sizeof(marker), 5 * kPage) != sizeof(marker)) t.Fail("pwrite marker");
  if (std::memcmp(map + 5 * kPage, marker, sizeof(marker)) != 0)
    t.Fail("unwritten page 5 no longer follows the file (restored as an anonymous copy?)");
  if (std::memcmp(map + 2 * kPage, content.data() + 2 * kPage, 16) == 0) t.Fail("COW page 2 lost its private data");
  t.Pass();
}
