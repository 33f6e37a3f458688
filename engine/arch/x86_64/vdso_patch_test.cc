#include "engine/arch/x86_64/vdso_patch.h"

#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <fstream>

#include "engine/arch/x86_64/vdso_test_util.h"

namespace stasis::arch {
namespace {

using testing::FindOwnVdso;

std::string Hex(const std::string& s) {
  std::string out;
  char buf[4];
  for (unsigned char c : s) std::snprintf(buf, sizeof buf, "%02x ", c), out += buf;
  return out;
}
std::string Bytes(std::initializer_list<uint8_t> b) { return std::string(b.begin(), b.end()); }

const std::vector<VdsoSymbol> kOld = {
    {"__vdso_clock_gettime", 0x100, 64}, {"clock_gettime", 0x100, 64}, {"__vdso_time", 0x200, 16},
    {"__vdso_getrandom", 0x300, 200},    {"__vdso_sgx_enter_enclave", 0x400, 100},
    {"__vdso_getcpu", 0x500, 32},
};
const std::vector<VdsoSymbol> kNew = {
    {"__vdso_clock_gettime", 0x180, 64}, {"clock_gettime", 0x180, 64}, {"__vdso_time", 0x280, 16}};
constexpr uint64_t kOldBase = 0x7f0000000000;

TEST(VdsoPatch, PlansJumpsAndStubs) {
  auto plan = PlanVdsoRedirect(kOld, kNew);
  ASSERT_TRUE(plan.ok()) << plan.error().message();
  ASSERT_EQ(plan->entries.size(), 5u);   // the two clock_gettime names share one entry
  EXPECT_EQ(plan->entries[0].fix, VdsoFix::kJump);
  EXPECT_EQ(plan->entries[0].new_offset, 0x180u);
  EXPECT_EQ(plan->entries[2].fix, VdsoFix::kGetrandom);
  EXPECT_EQ(plan->entries[3].fix, VdsoFix::kNotSupported);
  EXPECT_EQ(plan->entries[4].fix, VdsoFix::kSyscall);
  EXPECT_EQ(plan->entries[4].syscall_nr, SYS_getcpu);
}

TEST(VdsoPatch, BuildsTheExpectedBytes) {
  auto plan = PlanVdsoRedirect(kOld, kNew);
  ASSERT_TRUE(plan.ok());
  const std::vector<uint8_t> image(0x1000, 0xcc);
  auto out = BuildRedirectedVdso(image, *plan, kOldBase, kOldBase + 0x10000);
  ASSERT_TRUE(out.ok()) << out.error().message();
  auto at = [&](size_t off, size_t n) { return Hex(out->substr(off, n)); };
  // jmp rel32 to new+0x180 from old+0x105: 0x1007b.
  EXPECT_EQ(at(0x100, 6), Hex(Bytes({0xe9, 0x7b, 0x00, 0x01, 0x00, 0xcc})));
  EXPECT_EQ(at(0x200, 6), Hex(Bytes({0xe9, 0x7b, 0x00, 0x01, 0x00, 0xcc})));
  // cmp r8,-1; je +8; mov eax,318; syscall; ret; mov rax,-38; ret
  EXPECT_EQ(at(0x300, 23), Hex(Bytes({0x49, 0x83, 0xf8, 0xff, 0x74, 0x08, 0xb8, 0x3e, 0x01, 0x00, 0x00, 0x0f,
                                      0x05, 0xc3, 0x48, 0xc7, 0xc0, 0xda, 0xff, 0xff, 0xff, 0xc3, 0xcc})));
  EXPECT_EQ(at(0x400, 9), Hex(Bytes({0x48, 0xc7, 0xc0, 0xda, 0xff, 0xff, 0xff, 0xc3, 0xcc})));
  EXPECT_EQ(at(0x500, 9), Hex(Bytes({0xb8, 0x35, 0x01, 0x00, 0x00, 0x0f, 0x05, 0xc3, 0xcc})));
  EXPECT_EQ(at(0, 0x100), Hex(std::string(0x100, '\xcc')));   // nothing else touched
}

TEST(VdsoPatch, FarTargetsGetAbsoluteJumpsOrAClearError) {
  auto plan = PlanVdsoRedirect(kOld, kNew);
  ASSERT_TRUE(plan.ok());
  const std::vector<uint8_t> image(0x1000, 0xcc);
  const uint64_t far = kOldBase + (8ull << 30);
  EXPECT_TRUE(RedirectFits(*plan, kOldBase, far));   // every jump source has 13 bytes
  auto out = BuildRedirectedVdso(image, *plan, kOldBase, far);
  ASSERT_TRUE(out.ok()) << out.error().message();
  std::string movabs = Bytes({0x49, 0xbb});
  const uint64_t to = far + 0x180;
  for (int i = 0; i < 8; ++i) movabs.push_back(static_cast<char>((to >> (8 * i)) & 0xff));
  movabs += Bytes({0x41, 0xff, 0xe3});
  EXPECT_EQ(Hex(out->substr(0x100, 13)), Hex(movabs));

  std::vector<VdsoSymbol> small = kOld;
  small[2].size = 10;   // __vdso_time: room for a rel32 jump only
  auto small_plan = PlanVdsoRedirect(small, kNew);
  ASSERT_TRUE(small_plan.ok());
  EXPECT_TRUE(RedirectFits(*small_plan, kOldBase, kOldBase + 0x10000));
  EXPECT_FALSE(RedirectFits(*small_plan, kOldBase, far));
  auto bad = BuildRedirectedVdso(image, *small_plan, kOldBase, far);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("__vdso_time"), std::string::npos) << bad.error().message();
}

TEST(VdsoPatch, RefusesWhatItCannotRedirect) {
  auto unknown = PlanVdsoRedirect({{"__vdso_frobnicate", 0x100, 64}}, kNew);
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message().find("__vdso_frobnicate"), std::string::npos);
  auto tiny = PlanVdsoRedirect({{"__vdso_time", 0x100, 4}}, kNew);
  ASSERT_FALSE(tiny.ok());
  EXPECT_NE(tiny.error().message().find("too small"), std::string::npos);
  auto overlap = PlanVdsoRedirect({{"__vdso_time", 0x100, 16}, {"__vdso_clock_gettime", 0x102, 64}}, kNew);
  ASSERT_FALSE(overlap.ok());
  EXPECT_EQ(overlap.error().kind(), ErrorKind::kCorruption);
  auto outside = BuildRedirectedVdso(std::vector<uint8_t>(0x100, 0), *PlanVdsoRedirect(kOld, kNew), kOldBase, kOldBase);
  EXPECT_FALSE(outside.ok());
}

// A copy of this process's own vDSO, patched to jump into the real one (or to stubs), mapped
// r-x at `hint`, as a restore would place a dumped vDSO; calls go through the copy.
class PatchedCopy {
 public:
  // `hints`: addresses to try in turn (MAP_FIXED_NOREPLACE); none: wherever mmap likes.
  PatchedCopy(const testing::OwnVdso& own, const std::vector<VdsoSymbol>& new_functions,
              const std::vector<uint64_t>& hints) {
    error_ = Init(own, new_functions, hints);
  }
  std::string Init(const testing::OwnVdso& own, const std::vector<VdsoSymbol>& new_functions,
                   const std::vector<uint64_t>& hints) {
    const auto old = ListVdsoFunctions(own.bytes());
    if (!old.ok()) return old.error().message();
    syms_ = *old;
    auto plan = PlanVdsoRedirect(syms_, new_functions);
    if (!plan.ok()) return plan.error().message();
    size_ = own.end - own.start;
    void* at = MAP_FAILED;
    for (uint64_t hint : hints) {
      at = ::mmap(reinterpret_cast<void*>(hint), size_, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
      if (at != MAP_FAILED) break;
    }
    if (hints.empty()) at = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (at == MAP_FAILED) return "mmap failed";
    base_ = static_cast<uint8_t*>(at);
    auto bytes = BuildRedirectedVdso(own.bytes(), *plan, reinterpret_cast<uint64_t>(base_), own.start);
    if (!bytes.ok()) return bytes.error().message();
    std::memcpy(base_, bytes->data(), bytes->size());
    if (::mprotect(base_, size_, PROT_READ | PROT_EXEC) != 0) return "mprotect failed";
    return "";
  }
  ~PatchedCopy() {
    if (base_) ::munmap(base_, size_);
  }
  const std::string& error() const { return error_; }
  const uint8_t* base() const { return base_; }
  template <typename F>
  F Fn(const char* name) const {
    for (const VdsoSymbol& s : syms_)
      if (s.name == name) return reinterpret_cast<F>(base_ + s.offset);
    return nullptr;
  }
  uint64_t Offset(const char* name) const {
    for (const VdsoSymbol& s : syms_)
      if (s.name == name) return s.offset;
    return 0;
  }

 private:
  std::vector<VdsoSymbol> syms_;
  uint8_t* base_ = nullptr;
  size_t size_ = 0;
  std::string error_;
};

double Seconds(const timespec& t) { return static_cast<double>(t.tv_sec) + t.tv_nsec / 1e9; }

// Every patched entry agrees with its syscall.
void ExpectAgreesWithSyscalls(const PatchedCopy& copy) {
  using ClockGettime = int (*)(clockid_t, timespec*);
  using ClockGetres = int (*)(clockid_t, timespec*);
  using Gettimeofday = int (*)(timeval*, void*);
  using Time = time_t (*)(time_t*);
  using Getcpu = long (*)(unsigned*, unsigned*, void*);
  auto clock_gettime = copy.Fn<ClockGettime>("__vdso_clock_gettime");
  ASSERT_NE(clock_gettime, nullptr);
  for (clockid_t c : {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME, CLOCK_PROCESS_CPUTIME_ID}) {
    timespec a{}, b{};
    ASSERT_EQ(clock_gettime(c, &a), 0) << c;
    ASSERT_EQ(syscall(SYS_clock_gettime, c, &b), 0);
    EXPECT_GE(Seconds(b) - Seconds(a), 0.0) << c;
    EXPECT_LT(Seconds(b) - Seconds(a), 0.5) << c;
  }
  EXPECT_EQ(clock_gettime(12345, nullptr), -EINVAL);   // errors come back like the syscall's
  if (auto getres = copy.Fn<ClockGetres>("__vdso_clock_getres")) {
    timespec a{}, b{};
    EXPECT_EQ(getres(CLOCK_MONOTONIC, &a), 0);
    syscall(SYS_clock_getres, CLOCK_MONOTONIC, &b);
    EXPECT_EQ(a.tv_nsec, b.tv_nsec);
  }
  auto gettimeofday = copy.Fn<Gettimeofday>("__vdso_gettimeofday");
  ASSERT_NE(gettimeofday, nullptr);
  timeval tv{}, stv{};
  ASSERT_EQ(gettimeofday(&tv, nullptr), 0);
  syscall(SYS_gettimeofday, &stv, nullptr);
  const double d = static_cast<double>(stv.tv_sec - tv.tv_sec) + (stv.tv_usec - tv.tv_usec) / 1e6;
  EXPECT_GE(d, 0.0);
  EXPECT_LT(d, 0.5);
  auto time_fn = copy.Fn<Time>("__vdso_time");
  ASSERT_NE(time_fn, nullptr);
  time_t vt = 0;
  const time_t r = time_fn(&vt);
  const time_t st = static_cast<time_t>(syscall(SYS_time, nullptr));
  EXPECT_EQ(r, vt);
  EXPECT_LE(st - r, 1);
  EXPECT_GE(st - r, 0);
  auto getcpu = copy.Fn<Getcpu>("__vdso_getcpu");
  ASSERT_NE(getcpu, nullptr);
  cpu_set_t orig, one;
  ASSERT_EQ(sched_getaffinity(0, sizeof orig, &orig), 0);
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &orig)) continue;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    ASSERT_EQ(sched_setaffinity(0, sizeof one, &one), 0);
    unsigned vc = ~0u;
    EXPECT_EQ(getcpu(&vc, nullptr, nullptr), 0);
    EXPECT_EQ(vc, static_cast<unsigned>(cpu));
  }
  sched_setaffinity(0, sizeof orig, &orig);
}

TEST(VdsoPatchLive, JumpsIntoThisKernelsVdsoWithinRel32Reach) {
  const auto own = FindOwnVdso();
  if (own.start == 0) GTEST_SKIP() << "no vDSO";
  auto syms = ListVdsoFunctions(own.bytes());
  ASSERT_TRUE(syms.ok());
  // Near the vDSO's own block, well within +-2 GiB.
  std::vector<uint64_t> hints;
  for (uint64_t d = 16ull << 20; d <= (1ull << 30); d *= 2) hints.push_back(own.start - d), hints.push_back(own.start + d);
  PatchedCopy copy(own, *syms, hints);
  ASSERT_EQ(copy.error(), "");
  EXPECT_EQ(copy.base()[copy.Offset("__vdso_clock_gettime")], 0xe9);   // jmp rel32
  ExpectAgreesWithSyscalls(copy);
}

TEST(VdsoPatchLive, JumpsIntoThisKernelsVdsoFromFarAway) {
  const auto own = FindOwnVdso();
  if (own.start == 0) GTEST_SKIP() << "no vDSO";
  auto syms = ListVdsoFunctions(own.bytes());
  ASSERT_TRUE(syms.ok());
  const uint64_t far = own.start > (1ull << 44) ? own.start - (1ull << 43) : own.start + (1ull << 43);
  PatchedCopy copy(own, *syms, {far, far + (1ull << 32), far - (1ull << 32)});
  ASSERT_EQ(copy.error(), "");
  EXPECT_EQ(copy.base()[copy.Offset("__vdso_clock_gettime")], 0x49);   // movabs r11
  ExpectAgreesWithSyscalls(copy);
}

TEST(VdsoPatchLive, StubsStandInWhenThisKernelLacksAFunction) {
  const auto own = FindOwnVdso();
  if (own.start == 0) GTEST_SKIP() << "no vDSO";
  PatchedCopy copy(own, {}, {});   // "this kernel" exports nothing: every entry is a stub
  ASSERT_EQ(copy.error(), "");
  EXPECT_EQ(copy.base()[copy.Offset("__vdso_clock_gettime")], 0xb8);   // mov eax, nr
  ExpectAgreesWithSyscalls(copy);
  using Getrandom = ssize_t (*)(void*, size_t, unsigned, void*, size_t);
  if (auto getrandom = copy.Fn<Getrandom>("__vdso_getrandom")) {
    unsigned char buf[32] = {};
    unsigned char state[256];
    EXPECT_EQ(getrandom(buf, sizeof buf, 0, state, sizeof state), static_cast<ssize_t>(sizeof buf));
    EXPECT_EQ(getrandom(buf, sizeof buf, 0x1234, state, sizeof state), -EINVAL);   // bad flags, as the syscall
    EXPECT_EQ(getrandom(nullptr, 0, 0, state, ~0ul), -ENOSYS);   // the params query: "no vgetrandom"
  }
}

}  // namespace
}  // namespace stasis::arch
