// `stasis check` and the kernel feature set the engine consults.
//
// Every feature is probed by exercising it (a syscall on a scratch mapping, a throwaway child,
// a loopback socket, ...), never inferred from the kernel version. The result is an immutable
// KernelFeatures value, built once per run and cached per boot in
// /run/stasis/check-<boot_id>.json, so dump and restore can ask "can I use X here?" cheaply
// and fail with "X is not supported on this kernel: <why>" where they cannot.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/common/error.h"

namespace stasis::check {

// Report order: required features first, then optional ones grouped by subsystem.
enum class Feature : uint8_t {
  // Required: dump or restore cannot work at all without these.
  kPtraceSeize,          // PTRACE_SEIZE + PTRACE_INTERRUPT
  kPtraceSigmask,        // PTRACE_GETSIGMASK / PTRACE_SETSIGMASK
  kPtracePeekSiginfo,    // PTRACE_PEEKSIGINFO, per thread and shared
  kPtraceXstate,         // PTRACE_GETREGSET NT_X86_XSTATE
  kProcessVmRw,          // process_vm_readv / process_vm_writev
  kPidfdGetfd,           // pidfd_open + pidfd_getfd
  kClone3SetTid,         // clone3 with set_tid (restore with the dumped pids)
  kPrctlSetMmMap,        // prctl(PR_SET_MM, PR_SET_MM_MAP)
  kProcPagemap,          // /proc/PID/pagemap present bits
  kVdsoRemap,            // mremap of [vvar]/[vvar_vclock]/[vdso] as one block
  // Optional: some option or object class needs them; the engine has a fallback or says so.
  kPtraceRseqConfig,     // PTRACE_GET_RSEQ_CONFIGURATION
  kPtraceSeccompFilter,  // PTRACE_SECCOMP_GET_FILTER
  kKcmp,                 // kcmp(KCMP_FILE, KCMP_VM)
  kRseq,                 // rseq registration
  kVdsoLayout,           // the vDSO areas this kernel maps, and their sizes
  kMapFixedNoreplace,    // mmap MAP_FIXED_NOREPLACE
  kMemfdCreate,          // memfd_create with seals
  kMseal,                // mseal(2)
  kSoftDirty,            // clear_refs 4 + pagemap bit 55
  kPagemapScan,          // PAGEMAP_SCAN ioctl
  kUserfaultfd,          // userfaultfd(2) with MISSING + UFFDIO_COPY
  kUserfaultfdDev,       // /dev/userfaultfd
  kUffdWpAsync,          // UFFD_FEATURE_WP_ASYNC dirty tracking through PAGEMAP_SCAN
  kUffdWpUnpopulated,    // UFFD_FEATURE_WP_UNPOPULATED
  kUffdMissingShmem,     // UFFD_FEATURE_MISSING_SHMEM
  kTimeNamespace,        // unshare(CLONE_NEWTIME) with clock offsets
  kNsUser,
  kNsPid,
  kNsNet,
  kNsIpc,
  kNsUts,
  kNsMnt,
  kCgroupV2Freezer,      // cgroup.freeze
  kCgroupV1Freezer,      // freezer.state
  kTcpRepair,            // TCP_REPAIR on a loopback connection
  kSockDiagUnix,         // NETLINK_SOCK_DIAG dumps
  kSockDiagTcp,
  kSockDiagUdp,
  kCpuXsave,             // XSAVE enabled by the OS (XCR0 via xgetbv)
  kCpuAvx512,
  kCpuAmx,
  kShadowStack,          // user shadow stacks (arch_prctl ARCH_SHSTK_STATUS)
  kCount,
};
inline constexpr size_t kFeatureCount = static_cast<size_t>(Feature::kCount);

struct FeatureSpec {
  Feature feature;
  const char* name;        // stable snake_case id used in JSON and in the cache
  bool required;
  const char* needed_for;  // what stops working without it
};

const FeatureSpec& Spec(Feature f);
std::optional<Feature> FeatureByName(std::string_view name);

struct FeatureProbe {
  std::string name;        // e.g. "clone3_set_tid"
  bool available = false;
  bool required = false;   // dump/restore cannot work at all without it
  std::string detail;      // why it is missing, or what was found
};

// The probed feature set of the running kernel and CPU. Immutable once built; pass it by
// const reference to whatever needs to know.
class KernelFeatures {
 public:
  // `probes` may come in any order; a feature it does not mention counts as missing.
  KernelFeatures(std::string kernel_release, const std::vector<FeatureProbe>& probes);

  bool Has(Feature f) const { return probes_[static_cast<size_t>(f)].available; }
  const FeatureProbe& Get(Feature f) const { return probes_[static_cast<size_t>(f)]; }
  const std::string& kernel_release() const { return kernel_; }
  // In report order (required first).
  const std::array<FeatureProbe, kFeatureCount>& probes() const { return probes_; }

  bool AllRequiredPresent() const;
  // OK if present, else kNotSupported: "<what>: <name> is not supported on this kernel (<detail>)".
  Status Require(Feature f, std::string_view what) const;

 private:
  std::string kernel_;
  std::array<FeatureProbe, kFeatureCount> probes_;
};

// Runs every probe now (takes well under a second; forks short-lived children, so call it
// while the process is single-threaded). Never fails: a probe that cannot run reports its
// feature as missing with the reason.
KernelFeatures ProbeKernel();

inline constexpr char kDefaultCacheDir[] = "/run/stasis";

struct CacheOptions {
  std::string dir = kDefaultCacheDir;
  bool reprobe = false;   // --no-cache: ignore a cached result (and replace it)
};

struct CacheOutcome {
  bool from_cache = false;
  std::string path;       // the cache file used or written, empty if none
  std::string note;       // why the cache was not used or not written, if it was not
};

// The feature set for this boot: from the cache when its key (boot id, kernel release,
// credentials, namespaces) matches, else probed and written back. Never fails: an unusable
// cache only costs a fresh probe.
KernelFeatures LoadOrProbe(const CacheOptions& options, CacheOutcome* outcome = nullptr);

struct CheckOptions {
  bool all = false;        // also list optional features that are present
  bool json = false;
  bool no_cache = false;
  std::string cache_dir = kDefaultCacheDir;
};

// Prints the report; returns the process exit code (0 when every required feature is there).
int RunCheck(const CheckOptions& options);

}  // namespace stasis::check
