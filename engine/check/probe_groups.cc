// Which probe body reports which features, and how long each may take.
#include "engine/check/probes.h"

namespace stasis::check {

std::vector<ProbeGroup> AllProbeGroups() {
  using F = Feature;
  return {
      {"ptrace", ProbePtrace,
       {F::kPtraceSeize, F::kPtraceSigmask, F::kPtracePeekSiginfo, F::kPtraceXstate, F::kProcessVmRw,
        F::kPidfdGetfd, F::kPtraceRseqConfig, F::kPtraceSeccompFilter, F::kKcmp},
       5000},
      {"process", ProbeProcess,
       {F::kClone3SetTid, F::kRseq, F::kTimeNamespace, F::kNsUser, F::kNsPid, F::kNsNet, F::kNsIpc,
        F::kNsUts, F::kNsMnt},
       8000},
      {"memory", ProbeMemory,
       {F::kProcPagemap, F::kSoftDirty, F::kPagemapScan, F::kMapFixedNoreplace, F::kMemfdCreate,
        F::kMseal, F::kPrctlSetMmMap},
       3000},
      {"userfaultfd", ProbeUserfaultfd,
       {F::kUserfaultfd, F::kUserfaultfdDev, F::kUffdWpAsync, F::kUffdWpUnpopulated, F::kUffdMissingShmem},
       3000},
      {"vdso", ProbeVdso, {F::kVdsoLayout, F::kVdsoRemap}, 3000},
      {"net", ProbeNet, {F::kTcpRepair, F::kSockDiagUnix, F::kSockDiagTcp, F::kSockDiagUdp}, 5000},
      {"cgroup", ProbeCgroup, {F::kCgroupV2Freezer, F::kCgroupV1Freezer}, 6000},
      {"cpu", ProbeCpu, {F::kCpuXsave, F::kCpuAvx512, F::kCpuAmx, F::kShadowStack}, 2000},
  };
}

}  // namespace stasis::check
