#include "engine/restore/vdso_redirect.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "engine/arch/x86_64/vdso_test_util.h"

namespace stasis::restore {
namespace {

constexpr uint64_t kPage = 4096;

img::Vma MakeVma(uint64_t start, uint64_t end, img::VmaKind kind) {
  img::Vma v;
  v.set_start(start);
  v.set_end(end);
  v.set_kind(kind);
  v.set_prot(5);
  return v;
}

// This process's vDSO as restore sees the host's, and an image whose process had the same
// layout at `base`.
struct Fixture {
  HostVdso host;
  img::MmCore mm;
  explicit Fixture(uint64_t base) {
    auto h = ReadVdso(::getpid());
    if (!h.ok()) return;
    host = *h;
    *mm.add_vmas() = MakeVma(0x400000, 0x401000, img::VMA_FILE_PRIVATE);
    for (const VdsoArea& a : host.areas) {
      const uint64_t start = base + (a.start - host.areas.front().start);
      *mm.add_vmas() = MakeVma(start, start + (a.end - a.start), a.kind);
    }
    mm.set_vdso_image(host.image);
  }
};

TEST(VdsoDecision, SameImageMovesTheBlock) {
  Fixture f(0x7f0000000000);
  if (f.host.image.empty()) GTEST_SKIP() << "no vDSO";
  auto d = DecideVdso(f.mm, "mm-1.img", f.host);
  ASSERT_TRUE(d.ok()) << d.error().message();
  EXPECT_EQ(d->mode, VdsoMode::kMove);
  Fixture here(f.host.areas.front().start);
  EXPECT_EQ(DecideVdso(here.mm, "mm-1.img", here.host)->mode, VdsoMode::kNothing);
}

TEST(VdsoDecision, OtherCodeIsRedirected) {
  Fixture f(0x7f0000000000);
  if (f.host.image.empty()) GTEST_SKIP() << "no vDSO";
  std::string other = f.host.image;
  other.back() ^= 0x5a;   // past every header and table: another build of the same functions
  f.mm.set_vdso_image(other);
  auto d = DecideVdso(f.mm, "mm-1.img", f.host);
  ASSERT_TRUE(d.ok()) << d.error().message();
  EXPECT_EQ(d->mode, VdsoMode::kRedirect);
  EXPECT_GE(d->redirect.entries.size(), 4u);   // clock_gettime, gettimeofday, time, getcpu, ...
  for (const auto& e : d->redirect.entries) EXPECT_EQ(e.fix, arch::VdsoFix::kJump) << e.name;
}

TEST(CheckVdso, RefusesAThreadStoppedInsideAVdsoThatIsRedirected) {
  Fixture f(0x7f0000000000);
  if (f.host.image.empty()) GTEST_SKIP() << "no vDSO";
  std::string other = f.host.image;
  other.back() ^= 0x5a;
  f.mm.set_vdso_image(other);
  ImageSet set;
  ProcessImage p;
  p.entry.set_pid(42);
  p.core.set_pid(42);
  p.mm = f.mm;
  img::ThreadCore* t = p.core.add_threads();
  t->set_tid(42);
  t->mutable_regs()->set_ip(0x400100);   // in its own code: fine
  set.processes.push_back(p);
  EXPECT_TRUE(CheckVdso(set).ok());
  const img::Vma* vdso = nullptr;
  for (const img::Vma& v : f.mm.vmas())
    if (v.kind() == img::VMA_VDSO) vdso = &v;
  ASSERT_NE(vdso, nullptr);
  set.processes[0].core.mutable_threads(0)->mutable_regs()->set_ip(vdso->start() + 0x10);
  auto r = CheckVdso(set);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("core-42.img: thread 42 was stopped inside the vDSO"), std::string::npos)
      << r.error().message();
}

TEST(VdsoDecision, OtherLayoutIsRedirectedEvenWithTheSameBytes) {
  Fixture f(0x7f0000000000);
  if (f.host.image.empty()) GTEST_SKIP() << "no vDSO";
  img::MmCore mm;
  const uint64_t size = f.host.image.size();
  *mm.add_vmas() = MakeVma(0x7f0000000000, 0x7f0000000000 + 8 * kPage, img::VMA_VVAR);   // no vvar_vclock
  *mm.add_vmas() = MakeVma(0x7f0000008000, 0x7f0000008000 + size, img::VMA_VDSO);
  mm.set_vdso_image(f.host.image);
  auto d = DecideVdso(mm, "mm-1.img", f.host);
  ASSERT_TRUE(d.ok()) << d.error().message();
  EXPECT_EQ(d->mode, f.host.areas.size() == 2 && f.host.areas[0].end - f.host.areas[0].start == 8 * kPage
                         ? VdsoMode::kMove
                         : VdsoMode::kRedirect);
}

TEST(VdsoDecision, RefusesClearly) {
  Fixture f(0x7f0000000000);
  if (f.host.image.empty()) GTEST_SKIP() << "no vDSO";
  img::MmCore wrong_size = f.mm;
  wrong_size.set_vdso_image(f.host.image.substr(1));
  auto d = DecideVdso(wrong_size, "mm-7.img", f.host);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().kind(), ErrorKind::kCorruption);
  EXPECT_NE(d.error().message().find("mm-7.img"), std::string::npos) << d.error().message();

  img::MmCore junk = f.mm;
  junk.set_vdso_image(std::string(f.host.image.size(), '\x7f'));
  d = DecideVdso(junk, "mm-7.img", f.host);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().message().find("mm-7.img: the dumped vDSO: vDSO image: "), std::string::npos)
      << d.error().message();

  // An image from before vdso_image, on a kernel with another layout.
  img::MmCore old;
  *old.add_vmas() = MakeVma(0x7f0000000000, 0x7f0000001000, img::VMA_VDSO);
  d = DecideVdso(old, "mm-7.img", f.host);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().message().find("older stasis"), std::string::npos) << d.error().message();
}

TEST(VdsoDecision, NoVdsoOnEitherSide) {
  HostVdso none;
  img::MmCore mm;
  *mm.add_vmas() = MakeVma(0x400000, 0x401000, img::VMA_FILE_PRIVATE);
  EXPECT_EQ(DecideVdso(mm, "mm-1.img", none)->mode, VdsoMode::kNothing);
  HostVdso some;
  some.areas = {{0x7f0000000000, 0x7f0000002000, img::VMA_VDSO}};
  EXPECT_EQ(DecideVdso(mm, "mm-1.img", some)->mode, VdsoMode::kDrop);
}

TEST(VdsoDecision, HostWithoutVdsoGetsStubs) {
  Fixture f(0x7f0000000000);
  if (f.host.image.empty()) GTEST_SKIP() << "no vDSO";
  auto d = DecideVdso(f.mm, "mm-1.img", HostVdso{});
  ASSERT_TRUE(d.ok()) << d.error().message();
  EXPECT_EQ(d->mode, VdsoMode::kRedirect);
  for (const auto& e : d->redirect.entries) EXPECT_NE(e.fix, arch::VdsoFix::kJump) << e.name;
}

TEST(PickRedirectBase, NearestFreePlace) {
  const uint64_t vdso = 0x7ffff7fc0000;
  std::vector<std::pair<uint64_t, uint64_t>> avoid = {
      {0x400000, 0x500000}, {vdso - 4 * kPage, vdso + 2 * kPage}, {vdso + 2 * kPage, vdso + 6 * kPage}};
  const uint64_t at = PickRedirectBase(avoid, 6 * kPage, vdso);
  EXPECT_EQ(at, vdso + 6 * kPage);   // right above the old block: 6 pages away, below is 10
  EXPECT_EQ(at % kPage, 0u);
  for (const auto& [s, e] : avoid) EXPECT_TRUE(at + 6 * kPage <= s || at >= e);

  avoid.push_back({vdso + 6 * kPage, vdso + 64 * kPage});
  const uint64_t below = PickRedirectBase(avoid, 6 * kPage, vdso);
  EXPECT_EQ(below, vdso - 10 * kPage);   // above is taken: right below

  EXPECT_EQ(PickRedirectBase({{0, 0x7ffffffff000ull}}, kPage, vdso), 0u);
  EXPECT_EQ(PickRedirectBase({}, kPage, 0), 0x10000u);   // never below mmap_min_addr
}

}  // namespace
}  // namespace stasis::restore
