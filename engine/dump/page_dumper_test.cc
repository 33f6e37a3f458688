// A real child with known memory is frozen and its pages dumped; the pages image must hold
// exactly the private data: non-zero anonymous pages, PROT_NONE pages, COW'd file pages (even
// all-zero ones), touched shared-anonymous pages; nothing the file itself still holds.
#include "engine/dump/page_dumper.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <map>

#include "engine/common/crc32c.h"
#include "engine/dump/freezer.h"
#include "engine/dump/mm_collector.h"
#include "engine/images/image_format.h"
#include "engine/images/image_io.h"

namespace stasis::dump {
namespace {

constexpr size_t kPage = 4096;

uint8_t Pattern(size_t page) { return static_cast<uint8_t>(0x40 + page % 64); }

struct Child {
  pid_t pid = -1;
  ~Child() {
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  }
};

class PageDumperTest : public ::testing::TestWithParam<uint64_t> {};

// Parameter: the spool cap in pages (0: write while copying).
TEST_P(PageDumperTest, DumpsExactlyThePrivateData) {
  char dir[] = "/tmp/stasis-page-dumper-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string file = std::string(dir) + "/backing";
  {
    int fd = open(file.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
    ASSERT_GE(fd, 0);
    std::string data(8 * kPage, 'f');
    ASSERT_EQ(write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
    close(fd);
  }
  int fd = open(file.c_str(), O_RDONLY);
  auto* anon = static_cast<uint8_t*>(mmap(nullptr, 64 * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  auto* hidden = static_cast<uint8_t*>(mmap(nullptr, 4 * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  auto* filemap = static_cast<uint8_t*>(mmap(nullptr, 8 * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0));
  auto* shared = static_cast<uint8_t*>(mmap(nullptr, 4 * kPage, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  close(fd);
  // Children of later test runs must not inherit these (the backing file gets deleted).
  struct Unmap {
    std::vector<std::pair<void*, size_t>> maps;
    ~Unmap() { for (auto [a, n] : maps) munmap(a, n); }
  } unmap{{{anon, 64 * kPage}, {hidden, 4 * kPage}, {filemap, 8 * kPage}, {shared, 4 * kPage}}};
  ASSERT_NE(anon, MAP_FAILED);
  ASSERT_NE(hidden, MAP_FAILED);
  ASSERT_NE(filemap, MAP_FAILED);
  ASSERT_NE(shared, MAP_FAILED);

  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  Child child;
  child.pid = fork();
  if (child.pid == 0) {
    for (size_t p = 0; p < 10; ++p) memset(anon + p * kPage, Pattern(p), kPage);
    for (size_t p = 10; p < 20; ++p) memset(anon + p * kPage, 0, kPage);     // present, zero
    for (size_t p = 20; p < 30; ++p) memset(anon + p * kPage, Pattern(p), kPage);
    for (size_t p = 0; p < 4; ++p) memset(hidden + p * kPage, 0x11, kPage);
    mprotect(hidden, 4 * kPage, PROT_NONE);
    memset(filemap + 2 * kPage, 'c', kPage);
    memset(filemap + 5 * kPage, 0, kPage);                                   // COW'd zero page
    (void)filemap[6 * kPage];                                                // read only: the file's page
    memset(shared + 1 * kPage, 's', kPage);
    (void)!write(ready[1], "x", 1);
    for (;;) pause();
  }
  char c;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  close(ready[0]);
  close(ready[1]);

  Logger log(0);
  DumpOptions options;
  options.pid = child.pid;
  options.images_dir = dir;
  DumpContext ctx(options, log);
  std::vector<img::PagemapEntry> entries;
  {
    auto tree = FrozenTree::Freeze(child.pid, log);
    ASSERT_TRUE(tree.ok()) << tree.error().message();
    ProcessImages images;
    Status mm = CollectMm(ctx, tree->processes().front(), &images);
    ASSERT_TRUE(mm.ok()) << mm.error().message();
    // Small chunks force runs across chunks, spooling and spilling past the cap.
    auto pager = PageDumper::Create(16 * kPage, GetParam() * kPage);
    ASSERT_TRUE(pager.ok());
    ASSERT_TRUE(pager->Reserve(32 * kPage).ok());
    Status s = pager->Copy(ctx, child.pid, images.mm, &entries);
    ASSERT_TRUE(s.ok()) << s.error().message();
    tree->Resume();
    s = pager->Finish(ctx);
    ASSERT_TRUE(s.ok()) << s.error().message();
  }

  auto bytes = images::ReadImageBytes(dir, images::ImageFileName("pages", child.pid));
  ASSERT_TRUE(bytes.ok());
  ASSERT_GE(bytes->size(), kPage);
  auto header = images::DecodeHeader(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes->data()), images::kImageHeaderSize),
      images::ImageKind::kPages, "pages");
  ASSERT_TRUE(header.ok()) << header.error().message();
  EXPECT_EQ(header->payload_size, bytes->size() - kPage);

  // vaddr -> page contents, checking every run's CRC on the way.
  std::map<uint64_t, std::string> dumped;
  size_t off = kPage;
  for (const auto& e : entries) {
    ASSERT_LE(off + e.nr_pages() * kPage, bytes->size());
    EXPECT_EQ(Crc32c(0, bytes->data() + off, e.nr_pages() * kPage), e.crc32c());
    for (uint32_t i = 0; i < e.nr_pages(); ++i, off += kPage) dumped[e.vaddr() + i * kPage] = bytes->substr(off, kPage);
  }
  EXPECT_EQ(off, bytes->size());
  EXPECT_EQ(ctx.stats.pages_written, (bytes->size() - kPage) / kPage);
  EXPECT_GE(ctx.stats.zero_pages_skipped, 10u);

  auto at = [&](const uint8_t* base, size_t page) { return reinterpret_cast<uint64_t>(base) + page * kPage; };
  for (size_t p = 0; p < 64; ++p) {
    bool want = p < 10 || (p >= 20 && p < 30);
    ASSERT_EQ(dumped.count(at(anon, p)), want ? 1u : 0u) << "anon page " << p;
    if (want) {
      EXPECT_EQ(dumped[at(anon, p)], std::string(kPage, static_cast<char>(Pattern(p))));
    }
  }
  for (size_t p = 0; p < 4; ++p) {
    ASSERT_EQ(dumped.count(at(hidden, p)), 1u) << "PROT_NONE page " << p;
    EXPECT_EQ(dumped[at(hidden, p)], std::string(kPage, '\x11'));
  }
  for (size_t p = 0; p < 8; ++p) {
    bool want = p == 2 || p == 5;
    ASSERT_EQ(dumped.count(at(filemap, p)), want ? 1u : 0u) << "file page " << p;
  }
  EXPECT_EQ(dumped[at(filemap, 2)], std::string(kPage, 'c'));
  EXPECT_EQ(dumped[at(filemap, 5)], std::string(kPage, '\0'));
  for (size_t p = 0; p < 4; ++p) ASSERT_EQ(dumped.count(at(shared, p)), p == 1 ? 1u : 0u) << "shared page " << p;
  EXPECT_EQ(dumped[at(shared, 1)], std::string(kPage, 's'));

  // The child was detached and still runs.
  EXPECT_EQ(waitpid(child.pid, nullptr, WNOHANG), 0);
  std::string cleanup = std::string("rm -rf ") + dir;
  EXPECT_EQ(system(cleanup.c_str()), 0);
}

INSTANTIATE_TEST_SUITE_P(SpoolCaps, PageDumperTest, ::testing::Values(0, 48, 1u << 20));

}  // namespace
}  // namespace stasis::dump
