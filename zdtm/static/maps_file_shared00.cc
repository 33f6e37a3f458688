// A shared file mapping stays the file: contents written through it before the dump are in the
// file and the mapping, and after restore writes go both ways (mapping -> file, file -> mapping).
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "zdtm/lib/pattern.h"
#include "zdtm/lib/self_proc.h"
#include "zdtm/lib/zdtm.h"

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  constexpr size_t kPage = 4096, kSize = 8 * kPage;
  const char* path = "maps_file_shared00.data";
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || ftruncate(fd, kSize) != 0) t.Fail("create %s", path);
  std::vector<unsigned char> content(kSize);
  zdtm::FillPattern(content.data(), kSize, 5);
  if (pwrite(fd, content.data(), kSize, 0) != static_cast<ssize_t>(kSize)) t.Fail("pwrite");
  auto* map = static_cast<unsigned char*>(mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
  if (map == MAP_FAILED) t.Fail("mmap");
  zdtm::FillPattern(map + kPage, kPage, 6);  // dirty page-cache page, not msync'ed
  zdtm::FillPattern(content.data() + kPage, kPage, 6);

  t.Ready();
  t.WaitForTerm();

  std::vector<unsigned char> file(kSize);
  if (pread(fd, file.data(), kSize, 0) != static_cast<ssize_t>(kSize)) t.Fail("pread");
  if (file != content) t.Fail("file content differs from what was written");
  if (std::memcmp(map, content.data(), kSize) != 0) t.Fail("mapping differs from the file");
  auto m = zdtm::FindMapping(map);
  if (!m || m->perms != "rw-s") t.Fail("mapping perms '%s', want rw-s", m ? m->perms.c_str() : "-");
  map[3 * kPage] = 0xa5;
  unsigned char b = 0;
  if (pread(fd, &b, 1, 3 * kPage) != 1 || b != 0xa5) t.Fail("a write through the mapping does not reach the file");
  unsigned char c = 0x3c;
  if (pwrite(fd, &c, 1, 6 * kPage + 9) != 1) t.Fail("pwrite");
  if (map[6 * kPage + 9] != 0x3c) t.Fail("a write to the file does not show in the mapping");
  t.Pass();
}
