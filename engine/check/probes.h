// The probe bodies, one function per subsystem, each in its own probe_*.cc. They run inside
// RunProbeGroup's child (see probe_runner.h for the rules they follow).
#pragma once

#include <vector>

#include "engine/check/probe_runner.h"

namespace stasis::check {

// probe_ptrace.cc: a tracee child exercises seize/interrupt, sigmask, peeksiginfo, xstate,
// rseq config, seccomp filter, process_vm_*, pidfd_getfd and kcmp.
void ProbePtrace(ProbeReport& r) noexcept;
// probe_process.cc: clone3 set_tid, rseq, namespaces, time namespace.
void ProbeProcess(ProbeReport& r) noexcept;
// probe_memory.cc: pagemap, soft-dirty, PAGEMAP_SCAN, MAP_FIXED_NOREPLACE, memfd, mseal,
// PR_SET_MM_MAP.
void ProbeMemory(ProbeReport& r) noexcept;
// probe_userfaultfd.cc
void ProbeUserfaultfd(ProbeReport& r) noexcept;
// probe_vdso.cc: the vDSO layout and moving it.
void ProbeVdso(ProbeReport& r) noexcept;
// probe_net.cc: TCP_REPAIR and sock_diag.
void ProbeNet(ProbeReport& r) noexcept;
// probe_cgroup.cc: v1 and v2 freezers.
void ProbeCgroup(ProbeReport& r) noexcept;
// probe_cpu_x86_64.cc: XSAVE features, AVX-512, AMX, shadow stacks.
void ProbeCpu(ProbeReport& r) noexcept;

// Every group with the features it reports and its time bound.
std::vector<ProbeGroup> AllProbeGroups();

}  // namespace stasis::check
