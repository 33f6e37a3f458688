// Vector and FPU registers survive in threads that keep them only in registers: one thread
// spins with patterns in xmm/ymm (and, where the CPU has AVX-512, another with zmm16-31 and
// opmask registers), checking them continuously; each thread also runs with a non-default
// MXCSR and x87 control word. A register lost or mixed up by the dump is caught by the loop.
#include <time.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <thread>

#include "zdtm/lib/pattern.h"
#include "zdtm/lib/zdtm.h"

namespace {

// Layout shared with the assembly below; offsets are fixed by static_asserts.
struct alignas(64) SpinArgs {
  const uint8_t* patterns;       // 0: register images (32 bytes per ymm / 64 per zmm) + opmasks
  volatile int* stop;            // 8
  volatile long iterations;      // 16
  struct timespec nap;           // 24: slept every 65536 rounds so the spin costs little CPU
};
static_assert(offsetof(SpinArgs, stop) == 8 && offsetof(SpinArgs, iterations) == 16 && offsetof(SpinArgs, nap) == 24);

}  // namespace

// Each returns -1 when *stop was set with every register intact, else the index of the first
// register that differed from its pattern (opmask k2..k7 reported as 100 + n).
extern "C" int SpinCheckAvx2(SpinArgs* args);
extern "C" int SpinCheckAvx512(SpinArgs* args);

asm(R"(
  .text
  .globl SpinCheckAvx2
  .type SpinCheckAvx2, @function
SpinCheckAvx2:
  mov %rdi, %r9
  mov 0(%r9), %rax
  .irp i, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14
  vmovdqu 32*\i(%rax), %ymm\i
  .endr
  xor %r8, %r8
.Lavx2_loop:
  mov 0(%r9), %rax
  .irp i, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14
  vpcmpeqq 32*\i(%rax), %ymm\i, %ymm15
  vpmovmskb %ymm15, %ecx
  cmp $-1, %ecx
  jne .Lavx2_fail\i
  .endr
  inc %r8
  mov %r8, 16(%r9)
  mov 8(%r9), %rcx
  cmpl $0, (%rcx)
  jne .Lavx2_ok
  test $0xffff, %r8
  jnz .Lavx2_loop
  lea 24(%r9), %rdi
  xor %esi, %esi
  mov $35, %eax
  syscall
  jmp .Lavx2_loop
.Lavx2_ok:
  mov $-1, %eax
  vzeroupper
  ret
  .irp i, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14
.Lavx2_fail\i:
  mov $\i, %eax
  vzeroupper
  ret
  .endr
  .size SpinCheckAvx2, .-SpinCheckAvx2

  .globl SpinCheckAvx512
  .type SpinCheckAvx512, @function
SpinCheckAvx512:
  mov %rdi, %r9
  mov 0(%r9), %rax
  .irp i, 16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
  vmovdqu64 64*(\i-16)(%rax), %zmm\i
  .endr
  .irp i, 2,3,4,5,6,7
  kmovq 1024+8*\i(%rax), %k\i
  .endr
  xor %r8, %r8
.Lavx512_loop:
  mov 0(%r9), %rax
  .irp i, 16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
  vpcmpeqq 64*(\i-16)(%rax), %zmm\i, %k1
  kmovw %k1, %ecx
  cmp $0xff, %ecx
  jne .Lavx512_fail\i
  .endr
  .irp i, 2,3,4,5,6,7
  kmovq %k\i, %rcx
  cmp 1024+8*\i(%rax), %rcx
  jne .Lavx512_failk\i
  .endr
  inc %r8
  mov %r8, 16(%r9)
  mov 8(%r9), %rcx
  cmpl $0, (%rcx)
  jne .Lavx512_ok
  test $0xffff, %r8
  jnz .Lavx512_loop
  lea 24(%r9), %rdi
  xor %esi, %esi
  mov $35, %eax
  syscall
  jmp .Lavx512_loop
.Lavx512_ok:
  mov $-1, %eax
  vzeroupper
  ret
  .irp i, 16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
.Lavx512_fail\i:
  mov $\i, %eax
  vzeroupper
  ret
  .endr
  .irp i, 2,3,4,5,6,7
.Lavx512_failk\i:
  mov $100+\i, %eax
  vzeroupper
  ret
  .endr
  .size SpinCheckAvx512, .-SpinCheckAvx512
)");

namespace {

struct Spinner {
  alignas(64) uint8_t patterns[1024 + 64];
  SpinArgs args{};
  std::atomic<int> result{-2};
  uint32_t mxcsr_set = 0, mxcsr_seen = 0;
  uint16_t fcw_set = 0, fcw_seen = 0;
};

volatile int g_stop = 0;

void Run(Spinner* s, bool avx512, uint32_t mxcsr, uint16_t fcw) {
  zdtm::BlockTermInThisThread();
  s->mxcsr_set = mxcsr;
  s->fcw_set = fcw;
  asm volatile("ldmxcsr %0" ::"m"(mxcsr));
  asm volatile("fldcw %0" ::"m"(fcw));
  int r = avx512 ? SpinCheckAvx512(&s->args) : SpinCheckAvx2(&s->args);
  asm volatile("stmxcsr %0" : "=m"(s->mxcsr_seen));
  asm volatile("fnstcw %0" : "=m"(s->fcw_seen));
  s->result = r;
}

void Prepare(Spinner* s, uint64_t seed) {
  zdtm::FillPattern(s->patterns, sizeof(s->patterns), seed);
  s->args.patterns = s->patterns;
  s->args.stop = &g_stop;
  s->args.nap = {0, 1000 * 1000};
}

}  // namespace

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx2")) t.Fail("this test needs AVX2 (the CPU lacks it)");
  const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
  if (!avx512) zdtm::Log("no AVX-512 here: zmm/opmask registers not checked");
  static Spinner ymm, zmm;
  Prepare(&ymm, 0xf00);
  Prepare(&zmm, 0xba5);
  // Round toward zero + flush-to-zero + DAZ; x87 with 53-bit precision and round-up.
  std::thread a(Run, &ymm, false, 0xffc0u, uint16_t{0x0a7f});
  std::thread b;
  if (avx512) b = std::thread(Run, &zmm, true, 0xdf80u, uint16_t{0x067f});
  while (ymm.args.iterations < 1000 || (avx512 && zmm.args.iterations < 1000)) std::this_thread::yield();

  t.Ready();
  t.WaitForTerm();

  const long y0 = ymm.args.iterations, z0 = zmm.args.iterations;
  struct timespec ts = {0, 100 * 1000 * 1000};
  nanosleep(&ts, nullptr);
  if (ymm.result.load() != -2 || (avx512 && zmm.result.load() != -2))
    t.Fail("a spinning thread stopped on its own: register %d / %d differed", ymm.result.load(), zmm.result.load());
  if (ymm.args.iterations == y0 || (avx512 && zmm.args.iterations == z0)) t.Fail("the spinning threads do not run any more");
  g_stop = 1;
  a.join();
  if (b.joinable()) b.join();
  for (Spinner* s : {&ymm, &zmm}) {
    if (s == &zmm && !avx512) continue;
    const char* name = s == &ymm ? "ymm" : "zmm";
    if (s->result != -1) t.Fail("%s thread: register %d lost its value", name, s->result.load());
    if (s->mxcsr_seen != s->mxcsr_set) t.Fail("%s thread: MXCSR %#x, set %#x", name, s->mxcsr_seen, s->mxcsr_set);
    if (s->fcw_seen != s->fcw_set) t.Fail("%s thread: x87 control word %#x, set %#x", name, s->fcw_seen, s->fcw_set);
  }
  t.Pass();
}
