// The restore plan: every decision that can be made from the images alone (who creates whom,
// which session and group calls, where each fd comes from, where the trampoline may go),
// made before any process exists. Pure, like ParseImageSet, so the fuzzers cover it too.
//
// The plan is built once and never changed afterwards: the puppets are copies of the
// coordinator's address space and read it directly after clone().
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "engine/common/error.h"
#include "engine/restore/image_set.h"

namespace stasis::restore {

inline constexpr size_t kTrampolinePages = 3;   // syscall page + two pages of arguments
inline constexpr size_t kMaxTrampolineCandidates = 32;

enum class SessionStep { kInherit, kNewSession };
enum class GroupStep { kInherit, kOwnGroup, kJoin };

enum class FdSource {
  kOpen,       // open the file's path
  kDupLocal,   // the same open file is already at another fd of this process
  kFromPeer,   // an earlier process of the tree holds it: pidfd_getfd
  kTerminal,   // the restoring shell's terminal (--shell-job): pidfd_getfd from the coordinator
  kKind,       // a per-class module (pipe, eventfd, ...) recreates it: FileKind::Open
};

struct FdStep {
  int fd = -1;
  FdSource source = FdSource::kOpen;
  bool cloexec = false;
  int from_fd = -1;           // kDupLocal: fd of this process; kFromPeer: fd in the peer
  uint32_t peer_pid = 0;      // kFromPeer
  std::string path;           // kOpen
  int open_flags = 0;         // kOpen: dumped flags without O_CREAT/O_TRUNC/O_EXCL/O_CLOEXEC
  uint64_t pos = 0;           // kOpen
  const img::FileEntry* entry = nullptr;   // kKind, ghost kOpen: points into ImageSet::files
  bool ghost = false;         // kOpen: recreate the deleted file from ghost-data.img, then unlink it
  bool after_others = false;  // its file opens in OpenPhase::kAfterOthers (epoll): placed last
};

struct ProcessPlan {
  int parent = -1;                       // index into the plan, -1 for the root
  std::vector<int> children;             // creation order
  SessionStep session = SessionStep::kInherit;
  GroupStep group = GroupStep::kInherit;
  uint32_t pgid = 0;                     // kJoin
  std::vector<FdStep> fds;               // ascending fd order, kAfterOthers files last
  int control_fd_floor = 3;              // control sockets live at or above every dumped fd
  int control_fd_spare = -1;             // else here: an unused number below the floor
  std::vector<uint64_t> trampoline_candidates;
  // For each dumped VMA: its index into RestorePlan::shared_anon, or -1.
  std::vector<int> shared_anon_of_vma;
};

// A MAP_SHARED|MAP_ANONYMOUS object, identified by (dev, inode), possibly mapped by several
// VMAs in several processes. The coordinator creates it once; every VMA maps it through
// /proc/COORDINATOR/map_files, so they all share the same pages (and show "/dev/zero (deleted)").
struct SharedAnonObject {
  uint64_t dev = 0;
  uint64_t inode = 0;
  uint64_t size = 0;   // bytes: the largest pgoff + length over every VMA that maps it
};

struct RestorePlan {
  std::vector<ProcessPlan> processes;    // same order and indexes as ImageSet::processes
  std::vector<SharedAnonObject> shared_anon;
};

struct PlanOptions {
  bool shell_job = false;
};

Result<RestorePlan> BuildPlan(const ImageSet& set, const PlanOptions& options);

// Up to `max` page-aligned addresses where `size` bytes fit between the dumped VMAs (and above
// the lowest address mmap accepts). Candidates spread over the largest gaps first, so that at
// least one is usually free in the puppet's own (different) layout too.
std::vector<uint64_t> FreeAreaCandidates(const img::MmCore& mm, uint64_t size, size_t max);

}  // namespace stasis::restore
