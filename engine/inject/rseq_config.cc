#include "engine/inject/rseq_config.h"

#include <sys/ptrace.h>

#include <string>

namespace stasis::inject {
namespace {

// include/uapi/linux/ptrace.h; glibc's <sys/ptrace.h> may not name it.
constexpr int kPtraceGetRseqConfiguration = 0x420f;
struct PtraceRseqConfiguration {
  uint64_t rseq_abi_pointer;
  uint32_t rseq_abi_size;
  uint32_t signature;
  uint32_t flags;
  uint32_t pad;
};

}  // namespace

Result<RseqConfig> GetRseqConfig(pid_t tid) {
  PtraceRseqConfiguration conf{};
  long n = ::ptrace(static_cast<__ptrace_request>(kPtraceGetRseqConfiguration), tid,
                    reinterpret_cast<void*>(sizeof conf), &conf);
  if (n < 0) return SysError("PTRACE_GET_RSEQ_CONFIGURATION thread " + std::to_string(tid));
  return RseqConfig{conf.rseq_abi_pointer, conf.rseq_abi_size, conf.signature, conf.flags};
}

}  // namespace stasis::inject
