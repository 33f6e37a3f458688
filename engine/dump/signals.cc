#include "engine/dump/signals.h"

#include <signal.h>
#include <sys/ptrace.h>

namespace stasis::dump {
namespace {

constexpr int kPeekBatch = 64;
// RLIMIT_SIGPENDING bounds real queues far below this; a larger queue means we are confused.
constexpr size_t kMaxQueued = 1u << 20;

}  // namespace

Result<uint64_t> GetSigmask(pid_t tid) {
  uint64_t mask = 0;
  if (::ptrace(PTRACE_GETSIGMASK, tid, reinterpret_cast<void*>(sizeof mask), &mask) != 0)
    return SysError("PTRACE_GETSIGMASK thread " + std::to_string(tid));
  return mask;
}

Result<std::vector<std::string>> PeekPendingSignals(pid_t tid, bool shared) {
  static_assert(sizeof(siginfo_t) == kSiginfoSize);
  std::vector<std::string> out;
  siginfo_t batch[kPeekBatch];
  for (;;) {
    __ptrace_peeksiginfo_args args{};
    args.off = out.size();
    args.flags = shared ? PTRACE_PEEKSIGINFO_SHARED : 0;
    args.nr = kPeekBatch;
    long n = ::ptrace(PTRACE_PEEKSIGINFO, tid, &args, batch);
    if (n < 0)
      return SysError(std::string("PTRACE_PEEKSIGINFO") + (shared ? " (shared)" : "") + " thread " + std::to_string(tid));
    if (n == 0) break;
    if (n > kPeekBatch) return Internal("PTRACE_PEEKSIGINFO returned more than asked for");
    for (long i = 0; i < n; ++i) out.emplace_back(reinterpret_cast<const char*>(&batch[i]), kSiginfoSize);
    if (out.size() > kMaxQueued) return Internal("thread " + std::to_string(tid) + ": signal queue does not end");
  }
  return out;
}

}  // namespace stasis::dump
