// The feature table and the KernelFeatures value.
#include <algorithm>

#include "engine/check/check.h"

namespace stasis::check {
namespace {

using F = Feature;

// Indexed by Feature; the static_assert below keeps the two in step.
constexpr FeatureSpec kSpecs[] = {
    {F::kPtraceSeize, "ptrace_seize", true, "freezing the tree"},
    {F::kPtraceSigmask, "ptrace_sigmask", true, "signal masks"},
    {F::kPtracePeekSiginfo, "ptrace_peeksiginfo", true, "pending signals"},
    {F::kPtraceXstate, "ptrace_xstate", true, "FPU/SSE/AVX registers"},
    {F::kProcessVmRw, "process_vm_rw", true, "reading and writing memory"},
    {F::kPidfdGetfd, "pidfd_getfd", true, "reaching the target's files"},
    {F::kClone3SetTid, "clone3_set_tid", true, "restoring with the dumped pids"},
    {F::kPrctlSetMmMap, "prctl_set_mm_map", true, "restoring brk, arg/env areas, auxv"},
    {F::kProcPagemap, "proc_pagemap", true, "finding present pages"},
    {F::kVdsoRemap, "vdso_remap", true, "placing the vDSO at its dumped address"},
    {F::kPtraceRseqConfig, "ptrace_rseq_config", false, "dumping rseq registrations"},
    {F::kPtraceSeccompFilter, "ptrace_seccomp_filter", false, "dumping seccomp filters"},
    {F::kKcmp, "kcmp", false, "detecting shared files and memory"},
    {F::kRseq, "rseq", false, "re-registering rseq areas"},
    {F::kVdsoLayout, "vdso_layout", false, "cross-kernel vDSO checks"},
    {F::kMapFixedNoreplace, "map_fixed_noreplace", false, "safe fixed-address mappings"},
    {F::kMemfdCreate, "memfd_create", false, "memfd and shared memory"},
    {F::kMseal, "mseal", false, "restoring sealed mappings"},
    {F::kSoftDirty, "soft_dirty", false, "incremental dumps via soft-dirty bits"},
    {F::kPagemapScan, "pagemap_scan", false, "fast page scans and write tracking"},
    {F::kUserfaultfd, "userfaultfd", false, "lazy pages"},
    {F::kUserfaultfdDev, "userfaultfd_dev", false, "lazy pages without the syscall"},
    {F::kUffdWpAsync, "uffd_wp_async", false, "incremental dumps without soft-dirty"},
    {F::kUffdWpUnpopulated, "uffd_wp_unpopulated", false, "tracking writes to untouched pages"},
    {F::kUffdMissingShmem, "uffd_missing_shmem", false, "lazy shared memory"},
    {F::kTimeNamespace, "time_namespace", false, "monotonic clocks across hosts"},
    {F::kNsUser, "ns_user", false, "user namespaces"},
    {F::kNsPid, "ns_pid", false, "pid namespaces"},
    {F::kNsNet, "ns_net", false, "network namespaces"},
    {F::kNsIpc, "ns_ipc", false, "IPC namespaces"},
    {F::kNsUts, "ns_uts", false, "UTS namespaces"},
    {F::kNsMnt, "ns_mnt", false, "mount namespaces"},
    {F::kCgroupV2Freezer, "cgroup_v2_freezer", false, "freezing a cgroup v2 container"},
    {F::kCgroupV1Freezer, "cgroup_v1_freezer", false, "freezing a cgroup v1 container"},
    {F::kTcpRepair, "tcp_repair", false, "--tcp-established"},
    {F::kSockDiagUnix, "sock_diag_unix", false, "unix sockets"},
    {F::kSockDiagTcp, "sock_diag_tcp", false, "TCP sockets"},
    {F::kSockDiagUdp, "sock_diag_udp", false, "UDP sockets"},
    {F::kCpuXsave, "cpu_xsave", false, "xstate compatibility checks"},
    {F::kCpuAvx512, "cpu_avx512", false, "restoring AVX-512 state"},
    {F::kCpuAmx, "cpu_amx", false, "restoring AMX state"},
    {F::kShadowStack, "shadow_stack", false, "restoring shadow stacks"},
};
static_assert(std::size(kSpecs) == kFeatureCount, "one FeatureSpec per Feature");

constexpr bool SpecsInOrder() {
  for (size_t i = 0; i < kFeatureCount; ++i)
    if (static_cast<size_t>(kSpecs[i].feature) != i) return false;
  return true;
}
static_assert(SpecsInOrder(), "kSpecs must be indexed by Feature");

}  // namespace

const FeatureSpec& Spec(Feature f) { return kSpecs[static_cast<size_t>(f)]; }

std::optional<Feature> FeatureByName(std::string_view name) {
  for (const FeatureSpec& s : kSpecs)
    if (name == s.name) return s.feature;
  return std::nullopt;
}

KernelFeatures::KernelFeatures(std::string kernel_release, const std::vector<FeatureProbe>& probes)
    : kernel_(std::move(kernel_release)) {
  for (size_t i = 0; i < kFeatureCount; ++i) {
    probes_[i].name = kSpecs[i].name;
    probes_[i].required = kSpecs[i].required;
    probes_[i].detail = "not probed";
  }
  for (const FeatureProbe& p : probes) {
    std::optional<Feature> f = FeatureByName(p.name);
    if (!f) continue;  // a name this build does not know (e.g. from a newer cache): ignore
    FeatureProbe& slot = probes_[static_cast<size_t>(*f)];
    slot.available = p.available;
    slot.detail = p.detail;
  }
}

bool KernelFeatures::AllRequiredPresent() const {
  return std::all_of(probes_.begin(), probes_.end(),
                     [](const FeatureProbe& p) { return !p.required || p.available; });
}

Status KernelFeatures::Require(Feature f, std::string_view what) const {
  const FeatureProbe& p = Get(f);
  if (p.available) return Status::Ok();
  return Unsupported(std::string(what) + ": " + p.name + " is not supported on this kernel (" +
                     p.detail + ")");
}

}  // namespace stasis::check
