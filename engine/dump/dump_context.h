// What one dump run carries from stage to stage: options, the logger, statistics and the
// collected per-process state that becomes images at the end.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "engine/common/log.h"
#include "engine/common/fd.h"
#include "engine/dump/dump.h"
#include "engine/dump/namespaces_collector.h"
#include "engine/files/object_store.h"
#include "engine/images/core.pb.h"
#include "engine/images/files.pb.h"
#include "engine/images/lock.pb.h"
#include "engine/images/mm.pb.h"
#include "engine/images/timer.pb.h"

namespace stasis::dump {

// Collected state of one live (non-zombie) process, written as core-, mm-, pagemap- and
// fdinfo-PID.img.
struct ProcessImages {
  pid_t pid = 0;
  img::TaskCore core;
  img::MmCore mm;
  std::vector<img::PagemapEntry> pagemap;
  std::vector<img::FdEntry> fds;
  img::TaskTimers timers;   // timers-PID.img (timers_collector)
};

// One open file description seen so far, to give every fd sharing it the same FileEntry id.
struct OpenFileSeen {
  pid_t pid;
  int fd;
  uint64_t file_id;
};

struct DumpContext {
  DumpContext(const DumpOptions& o, Logger& l) : options(o), log(l) {}

  const DumpOptions& options;
  Logger& log;
  DumpStats stats;

  std::deque<ProcessImages> processes;   // a deque: collectors keep pointers into it
  std::vector<img::FileEntry> files;                                   // files.img
  std::map<std::pair<uint64_t, uint64_t>, std::vector<OpenFileSeen>> files_by_inode;   // (dev, ino)
  uint64_t next_file_id = 1;
  files::CollectContext objects;   // per-object data images (pipe bytes, memfd contents)
  // Our copies of established TCP sockets that Collect left in TCP_REPAIR mode: taken out of
  // it again before the tree resumes (-R, or a failed dump).
  std::vector<UniqueFd> tcp_in_repair;

  std::vector<img::FileLock> file_locks;   // file-locks.img (locks_collector, --file-locks)
  NamespaceDump namespaces;     // ns.img and the pstree's ns_* ids, when the tree has its own

  uint64_t xfeatures = 0;       // union over all threads
  uint32_t xstate_size = 0;
  std::vector<std::string> images_written;   // names in images_dir, inventory.img excluded
};

}  // namespace stasis::dump
