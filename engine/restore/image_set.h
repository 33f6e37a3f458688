// The whole image set of one dump, loaded and cross-checked before a single process exists.
//
// ParseImageSet is pure (no syscalls, no globals, every count capped) so the fuzzers can feed
// it anything; LoadImageSet is the thin I/O wrapper that reads a directory into it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/common/error.h"
#include "engine/files/object_store.h"
#include "engine/images/core.pb.h"
#include "engine/images/files.pb.h"
#include "engine/images/inventory.pb.h"
#include "engine/images/lock.pb.h"
#include "engine/images/mm.pb.h"
#include "engine/images/pstree.pb.h"
#include "engine/images/timer.pb.h"

namespace stasis::restore {

// Limits on what an image may claim. Far above anything real, low enough that a hostile image
// cannot make the restore allocate or loop without bound.
inline constexpr size_t kMaxProcesses = 1u << 15;
inline constexpr size_t kMaxThreadsPerProcess = 1u << 14;
inline constexpr size_t kMaxVmasPerProcess = 1u << 17;
inline constexpr uint32_t kMaxFdNumber = 1u << 20;
inline constexpr size_t kMaxFdsPerProcess = kMaxFdNumber;   // distinct numbers below the cap
inline constexpr size_t kMaxRunsPerProcess = 1u << 20;
inline constexpr size_t kMaxFiles = 1u << 20;
inline constexpr size_t kMaxXstateSize = 64u << 10;
inline constexpr size_t kSiginfoSize = 128;
inline constexpr size_t kMaxPendingSignals = 1u << 16;
inline constexpr size_t kMaxGroups = 65536;
inline constexpr size_t kMaxAuxvWords = 128;
inline constexpr size_t kMaxPathLength = 4095;
inline constexpr uint64_t kUserAddressLimit = 0x800000000000ull;  // x86-64 4-level paging
inline constexpr uint64_t kTaskSize = 0x7ffffffff000ull;          // the highest mappable end
inline constexpr uint32_t kMaxPid = 1u << 22;                      // PID_MAX_LIMIT

// One dumped process. Zombies carry only their pstree entry.
struct ProcessImage {
  img::ProcessEntry entry;
  img::TaskCore core;
  img::MmCore mm;
  std::vector<img::PagemapEntry> pagemap;
  std::vector<uint64_t> run_offsets;   // byte offset of each run after the pages header page
  uint64_t pages_bytes = 0;            // raw page bytes in pages-PID.img after its header page
  std::vector<img::FdEntry> fds;
  img::TaskTimers timers;              // timers-PID.img; absent file: no timers

  // The pid in the image file names (pages-PID.img) when a pid namespace renumbered the set
  // (namespaces_restore.h); 0 when it is pid().
  uint32_t dumped_pid = 0;
  uint32_t file_pid() const { return dumped_pid != 0 ? dumped_pid : entry.pid(); }

  bool zombie() const { return entry.state() == img::TASK_ZOMBIE; }
  uint32_t pid() const { return entry.pid(); }
};

struct ImageSet {
  img::Inventory inventory;
  std::vector<ProcessImage> processes;     // pstree order: parents before children, root first
  std::map<uint64_t, img::FileEntry> files;
  files::ObjectStore objects;              // per-object data: pipe bytes, memfd contents, ...
  std::vector<img::FileLock> file_locks;   // file-locks.img; absent file: none

  // pid -> index into processes, filled by ParseImageSet (a tree of thousands of zombies
  // must not make every lookup a scan); IndexOf verifies each hit and scans on a miss, so a
  // later renumbering of the pids only makes it slower, never wrong.
  std::unordered_map<uint32_t, int> index_by_pid;

  // Index into processes, or -1.
  int IndexOf(uint32_t pid) const;
};

// `files` maps a file name of the images directory to its bytes. pages-PID.img is represented
// by its 4096-byte header page only; its header's payload_size stands for the raw bytes that
// follow (LoadImageSet checks that against the real file size). Every reference between images
// is checked; errors name the image file and the object.
Result<ImageSet> ParseImageSet(const std::map<std::string, std::string>& files);

// Reads inventory.img and every image it names from `dir` (pages files: header page and size
// only) and parses them with ParseImageSet.
Result<ImageSet> LoadImageSet(const std::string& dir);

}  // namespace stasis::restore
