// Memory contents: the pages of a frozen process that the files behind its mappings do not
// already hold, written raw to pages-PID.img and indexed by PagemapEntry runs.
//
// Two phases, so the tree is frozen only while its memory is copied: Copy (tree frozen) scans
// pagemap in big chunks and copies every page holding data into our own chunks with
// process_vm_readv (many iovecs per call, no syscall per page); Write (tree frozen or already
// resumed) drops zero pages, computes each run's CRC and writes the file. In spool mode the
// chunks are kept until Write, within a memory cap; without it (or past the cap) each chunk is
// written as soon as it is full and then reused.
#pragma once

#include <sys/types.h>

#include <memory>
#include <vector>

#include "engine/common/error.h"
#include "engine/common/fd.h"
#include "engine/dump/dump_context.h"
#include "engine/images/mm.pb.h"

namespace stasis::dump {

class ProcessPages;

class PageDumper {
 public:
  // chunk_bytes: the unit of reading and writing. spool_cap_bytes: how much copied memory
  // may be held at once (0: no spooling, write while copying).
  static Result<PageDumper> Create(size_t chunk_bytes = 64u << 20, uint64_t spool_cap_bytes = 0);
  PageDumper(PageDumper&&) noexcept;
  PageDumper& operator=(PageDumper&&) noexcept;
  ~PageDumper();

  // Pre-faults chunks for about `bytes` of copies (capped), so copying while frozen does not
  // pay for our own page faults. Call before freezing.
  Status Reserve(uint64_t bytes);

  // Copies (and unless spooling, writes) the private pages of `pid` described by `mm`;
  // creates dir/pages-PID.img. `pagemap` must stay valid until Finish.
  Status Copy(DumpContext& ctx, pid_t pid, const img::MmCore& mm, std::vector<img::PagemapEntry>* pagemap);

  // Writes everything still held, completes every pages image (header) and fsyncs it.
  Status Finish(DumpContext& ctx);

  struct Pool;   // the chunks, shared by every process of the dump

 private:
  explicit PageDumper(std::unique_ptr<Pool> pool);
  std::unique_ptr<Pool> pool_;
  std::vector<std::unique_ptr<ProcessPages>> processes_;
};

// Estimated bytes a dump of the tree under `root` will copy (anonymous and swapped memory from
// smaps_rollup, summed over the processes found now). Read before freezing: only a hint.
uint64_t EstimateTreeCopyBytes(pid_t root);

}  // namespace stasis::dump
