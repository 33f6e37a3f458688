#include "engine/arch/x86_64/cpu_state.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <sys/syscall.h>
#include <time.h>

namespace stasis::arch {
namespace {

user_regs_struct InSyscall(long nr, long ret) {
  user_regs_struct r{};
  r.orig_rax = static_cast<uint64_t>(nr);
  r.rax = static_cast<uint64_t>(ret);
  r.rip = 0x1002;  // just past a 2-byte syscall instruction at 0x1000
  return r;
}

TEST(RegsForResume, RestartableSyscallIsReissued) {
  for (long code : {512L, 513L, 514L}) {
    user_regs_struct r = RegsForResume(InSyscall(SYS_read, -code));
    EXPECT_EQ(r.rip, 0x1000u);
    EXPECT_EQ(r.rax, static_cast<uint64_t>(SYS_read));
    EXPECT_EQ(static_cast<long>(r.orig_rax), -1);
  }
}

TEST(RegsForResume, NanosleepContinuesWithRemainingTime) {
  user_regs_struct frozen = InSyscall(SYS_nanosleep, -516);
  frozen.rdi = 0x5000;  // req
  frozen.rsi = 0x6000;  // rem, already written by the kernel
  user_regs_struct r = RegsForResume(frozen);
  EXPECT_EQ(r.rip, 0x1000u);
  EXPECT_EQ(r.rdi, 0x6000u);

  user_regs_struct clk = InSyscall(SYS_clock_nanosleep, -516);
  clk.rsi = 0;        // relative
  clk.rdx = 0x5000;   // req
  clk.r10 = 0x6000;   // rem
  r = RegsForResume(clk);
  EXPECT_EQ(r.rdx, 0x6000u);
  EXPECT_EQ(r.rax, static_cast<uint64_t>(SYS_clock_nanosleep));
}

TEST(RegsForResume, FutexWaitIsReissued) {
  for (uint64_t op : {0ull /* FUTEX_WAIT */, 128ull /* private */, 9ull /* WAIT_BITSET */, 137ull}) {
    user_regs_struct frozen = InSyscall(SYS_futex, -516);
    frozen.rsi = op;
    user_regs_struct r = RegsForResume(frozen);
    EXPECT_EQ(r.rip, 0x1000u) << op;
    EXPECT_EQ(r.rax, static_cast<uint64_t>(SYS_futex)) << op;
  }
}

TEST(RegsForResume, LostRestartBlockBecomesEintr) {
  user_regs_struct frozen = InSyscall(SYS_nanosleep, -516);
  frozen.rsi = 0;  // no rem pointer: the remaining time is unknown
  user_regs_struct r = RegsForResume(frozen);
  EXPECT_EQ(static_cast<long>(r.rax), -EINTR);
  EXPECT_EQ(r.rip, 0x1002u);
}

TEST(RegsForResume, CompletedSyscallAndUserCodeUntouched) {
  user_regs_struct done = InSyscall(SYS_read, 3);
  EXPECT_EQ(RegsForResume(done).rax, 3u);
  EXPECT_EQ(RegsForResume(done).rip, 0x1002u);
  user_regs_struct user{};
  user.orig_rax = static_cast<uint64_t>(-1);
  user.rax = static_cast<uint64_t>(-512);  // just a value in user code
  EXPECT_EQ(RegsForResume(user).rax, static_cast<uint64_t>(-512));
}

TEST(Xstate, FeaturesReadFromHeader) {
  std::string x(1024, '\0');
  x[512] = 0x7;
  EXPECT_EQ(XstateFeatures(x), 0x7u);
  EXPECT_EQ(XstateFeatures("short"), 0u);
  EXPECT_NE(SupportedXfeatures() & 0x3, 0u);  // x87 and SSE everywhere
}

// An image from a CPU with a smaller XSAVE area (a TCG guest's x87+SSE+AVX, 832 bytes) goes
// into a thread of this CPU, whose area is larger: the kernel wants exactly its own size.
TEST(Xstate, SmallerImageFromALesserCpuIsAccepted) {
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ptrace(PTRACE_TRACEME, 0, nullptr, nullptr);
    raise(SIGSTOP);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSTOPPED(status));
  auto full = GetXstate(child);
  ASSERT_TRUE(full.ok()) << full.error().message();
  constexpr size_t kGuestSize = 832;   // legacy area, header, AVX
  if (full->size() <= kGuestSize) {
    kill(child, SIGKILL);
    waitpid(child, &status, 0);
    GTEST_SKIP() << "this CPU's XSAVE area is not larger than a TCG guest's";
  }
  std::string small = full->substr(0, kGuestSize);
  uint64_t bv = XstateFeatures(small) & 0x7;
  std::memcpy(small.data() + 512, &bv, sizeof bv);
  small[24] = 0x33;   // MXCSR low byte: a value to find again (0x1f33: the usual masks, RC=0)
  Status set = SetXstate(child, small);
  EXPECT_TRUE(set.ok()) << set.error().message();
  auto back = GetXstate(child);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(static_cast<unsigned char>((*back)[24]), 0x33);
  EXPECT_EQ(XstateFeatures(*back) & ~0x7ull, 0u) << "nothing but x87/SSE/AVX in use after the restore";
  kill(child, SIGKILL);
  waitpid(child, &status, 0);
}

}  // namespace
}  // namespace stasis::arch
