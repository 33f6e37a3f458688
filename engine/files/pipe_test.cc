// Pipes on real kernel objects: bytes in flight, capacity, ends and flags survive a round trip.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/ioctl.h>

#include <random>

#include "engine/files/files_test_util.h"
#include "engine/files/pipe_data.h"

namespace stasis::files {
namespace {

using testing::DumpFds;
using testing::RestoreFds;

std::string Pattern(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

std::string ReadAll(int fd) {
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

struct Pipe {
  UniqueFd r, w;
  explicit Pipe(int flags = 0) {
    int p[2];
    if (::pipe2(p, flags | O_CLOEXEC) == 0) r.reset(p[0]), w.reset(p[1]);
  }
};

TEST(PipeKind, FullPipeOfDataSurvivesWithSizeAndFlags) {
  Pipe p;
  ASSERT_TRUE(p.r.valid());
  ASSERT_EQ(::fcntl(p.r.get(), F_SETPIPE_SZ, 1 << 20), 1 << 20);
  ASSERT_EQ(::fcntl(p.r.get(), F_SETFL, O_NONBLOCK), 0);
  const std::string data = Pattern((1 << 20) - 7, 1);   // nearly full: 256 slots in use
  ASSERT_TRUE(WriteAll(p.w.get(), data.data(), data.size(), "pipe").ok());

  auto dumped = DumpFds({p.r.get(), p.w.get()});
  ASSERT_TRUE(dumped.ok()) << dumped.error().message();
  // The dump read the bytes without taking them.
  int queued = 0;
  ASSERT_EQ(::ioctl(p.r.get(), FIONREAD, &queued), 0);
  EXPECT_EQ(static_cast<size_t>(queued), data.size());
  EXPECT_EQ(dumped->object_images.count("pipes-data.img"), 1u);
  p.r.reset();
  p.w.reset();

  LocalFdExchange exchange;
  auto fds = RestoreFds(*dumped, exchange);
  ASSERT_TRUE(fds.ok()) << fds.error().message();
  EXPECT_EQ(exchange.size(), 0u) << "the write end was taken by its opener";
  const int r = (*fds)[0].get(), w = (*fds)[1].get();
  EXPECT_EQ(testing::StatusFlags(r), O_RDONLY | O_NONBLOCK);
  EXPECT_EQ(testing::StatusFlags(w), O_WRONLY);
  EXPECT_EQ(::fcntl(r, F_GETPIPE_SZ), 1 << 20);
  EXPECT_EQ(ReadAll(r), data);
  // Both ends are one pipe.
  ASSERT_EQ(::write(w, "x", 1), 1);
  char c = 0;
  EXPECT_EQ(::read(r, &c, 1), 1);
  EXPECT_EQ(c, 'x');
}

TEST(PipeKind, WriteEndAloneKeepsItsDataAndHasNoReader) {
  Pipe p(O_NONBLOCK);
  ASSERT_EQ(::write(p.w.get(), "abc", 3), 3);
  auto dumped = DumpFds({p.w.get()});
  ASSERT_TRUE(dumped.ok()) << dumped.error().message();
  p.r.reset();
  p.w.reset();

  LocalFdExchange exchange;
  auto fds = RestoreFds(*dumped, exchange);
  ASSERT_TRUE(fds.ok()) << fds.error().message();
  ASSERT_EQ(exchange.size(), 1u) << "the unclaimed read end waits in the exchange";
  const int w = (*fds)[0].get();
  std::string peeked = *PeekPipeData(w, "restored pipe");
  EXPECT_EQ(peeked, "abc");
  exchange.Clear();   // what the pipeline does once every file is open
  ::signal(SIGPIPE, SIG_IGN);
  EXPECT_EQ(::write(w, "d", 1), -1);
  EXPECT_EQ(errno, EPIPE);
}

TEST(PipeKind, EmptyPipeWritesNoDataImage) {
  Pipe p;
  auto dumped = DumpFds({p.w.get(), p.r.get()});
  ASSERT_TRUE(dumped.ok()) << dumped.error().message();
  EXPECT_TRUE(dumped->object_images.empty());
  p.r.reset();
  p.w.reset();
  LocalFdExchange exchange;
  auto fds = RestoreFds(*dumped, exchange);
  ASSERT_TRUE(fds.ok()) << fds.error().message();
  EXPECT_EQ(::fcntl((*fds)[0].get(), F_GETPIPE_SZ), 65536);
  ASSERT_EQ(::write((*fds)[0].get(), "z", 1), 1);
  char c = 0;
  EXPECT_EQ(::read((*fds)[1].get(), &c, 1), 1);
}

TEST(PipeKind, SecondDescriptionOfOneEndIsRefused) {
  Pipe p;
  const std::string self = "/proc/self/fd/" + std::to_string(p.r.get());
  UniqueFd again(::open(self.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  ASSERT_TRUE(again.valid());
  auto dumped = DumpFds({p.r.get(), again.get()});
  ASSERT_FALSE(dumped.ok());
  EXPECT_NE(dumped.error().message().find("a second open file description of the same pipe end"),
            std::string::npos) << dumped.error().message();
}

img::FileEntry PipeEntry(uint32_t flags, uint32_t size) {
  img::FileEntry e;
  e.mutable_pipe()->set_dev(15);
  e.mutable_pipe()->set_inode(4711);
  e.mutable_pipe()->set_flags(flags);
  e.mutable_pipe()->set_pipe_size(size);
  return e;
}

std::string DataImage(std::vector<std::pair<uint64_t, std::string>> chunks) {
  std::vector<std::string> bodies;
  for (auto& [offset, data] : chunks) {
    img::ObjectData d;
    d.set_dev(15);
    d.set_inode(4711);
    d.set_offset(offset);
    d.set_data(data);
    bodies.push_back(d.SerializeAsString());
  }
  return images::EncodeMessageImage(images::ImageKind::kPipeData, bodies);
}

std::string ValidateError(const img::FileEntry& e, const std::string& image) {
  std::map<std::string, std::string> files;
  if (!image.empty()) files["pipes-data.img"] = image;
  auto store = ObjectStore::Parse(files);
  if (!store.ok()) return store.error().message();
  auto st = FindKindFor(e)->Validate(e, *store);
  return st.ok() ? "(ok)" : st.error().message();
}

TEST(PipeKind, BadImagesAreRefusedWithOneLine) {
  EXPECT_EQ(ValidateError(PipeEntry(O_RDONLY, 4096), DataImage({{0, "ab"}})), "(ok)");
  EXPECT_EQ(ValidateError(PipeEntry(O_RDONLY | 0x80000000u, 4096), ""),
            "pipe:[4711]: unknown flags 0x80000000");
  EXPECT_EQ(ValidateError(PipeEntry(O_RDWR, 4096), ""), "pipe:[4711]: access mode 2 is neither end");
  EXPECT_EQ(ValidateError(PipeEntry(O_RDONLY, 100), ""), "pipe:[4711]: pipe size 100 out of range");
  EXPECT_EQ(ValidateError(PipeEntry(O_RDONLY, 4096), DataImage({{0, std::string(4097, 'a')}})),
            "pipe:[4711]: 4097 bytes in flight exceed the pipe size 4096");
  EXPECT_EQ(ValidateError(PipeEntry(O_RDONLY, 4096), DataImage({{0, "ab"}, {5, "cd"}})),
            "pipe:[4711]: pipe data has a gap at byte 2");
  EXPECT_EQ(ValidateError(PipeEntry(O_RDONLY, 4096), DataImage({{0, "abc"}, {2, "cd"}})),
            "pipes-data: object dev 15 inode 4711: chunk at offset 2 overlaps the one before it");
  EXPECT_EQ(ValidateError(PipeEntry(O_RDONLY, 4096), DataImage({{0, ""}})),
            "pipes-data.img: object dev 15 inode 4711: empty chunk");
  EXPECT_EQ(ValidateError(PipeEntry(O_RDONLY, 4096), DataImage({{UINT64_MAX - 1, "abc"}})),
            "pipes-data.img: object dev 15 inode 4711: chunk offset 18446744073709551614 overflows");
  EXPECT_EQ(ValidateError(PipeEntry(O_RDONLY, 4096), "garbage"),
            "pipes-data.img: truncated header (7 of 32 bytes)");
}

}  // namespace
}  // namespace stasis::files
