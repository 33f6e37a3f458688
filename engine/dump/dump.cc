// The dump pipeline: freeze, collect every process, dump its memory, resume (-R) or write and
// kill. Each stage lives in its own file; this one only orders them and owns failure handling.
#include "engine/dump/dump.h"

#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "engine/dump/dump_context.h"
#include "engine/dump/files_collector.h"
#include "engine/dump/freezer.h"
#include "engine/dump/image_writer.h"
#include "engine/dump/injected_state.h"
#include "engine/dump/locks_collector.h"
#include "engine/dump/mm_collector.h"
#include "engine/net/net_lock.h"
#include "engine/net/tcp_repair.h"
#include "engine/dump/page_dumper.h"
#include "engine/dump/task_collector.h"
#include "engine/dump/timers_collector.h"
#include "engine/proc/text.h"

namespace stasis::dump {
namespace {

constexpr size_t kChunkBytes = 64u << 20;

double MonotonicSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

uint64_t RealtimeNs() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

Status PrepareImagesDir(const std::string& dir, Logger& log) {
  if (::mkdir(dir.c_str(), 0700) == 0) return Status::Ok();
  if (errno != EEXIST) return SysError("create images directory " + dir);
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) return SysError("stat " + dir);
  if (!S_ISDIR(st.st_mode)) return InvalidArg(dir + " exists and is not a directory");
  // An older inventory would describe a set whose files we are about to overwrite.
  const std::string inventory = dir + "/inventory.img";
  if (::unlink(inventory.c_str()) == 0) log.Info("removed the stale %s", inventory.c_str());
  else if (errno != ENOENT) return SysError("remove stale " + inventory);
  return Status::Ok();
}

Status DumpProcess(DumpContext& ctx, PageDumper& pager, const FrozenProcess& p) {
  ProcessImages& out = ctx.processes.emplace_back();
  STASIS_TRY(CollectTask(ctx, p, &out));
  STASIS_TRY(CollectInjectedState(ctx, p, &out));
  STASIS_TRY(CollectMm(ctx, p, &out));
  STASIS_TRY(CollectFiles(ctx, p, &out));
  STASIS_TRY(CollectLocks(ctx, p, &out));
  STASIS_TRY(CollectTimers(ctx, p, &out));
  STASIS_TRY(pager.Copy(ctx, p.pid, out.mm, &out.pagemap));
  ctx.log.Debug("pid %d: %d threads, %d VMAs, %zu page runs, %zu fds", p.pid, out.core.threads_size(),
                out.mm.vmas_size(), out.pagemap.size(), out.fds.size());
  return Status::Ok();
}

// How much copied memory a -R dump may hold to resume the tree before writing: half of what
// the machine has available.
uint64_t SpoolCap() {
  auto meminfo = ReadFileToString("/proc/meminfo");
  if (!meminfo.ok()) return 0;
  std::string_view text = *meminfo, line;
  while (proc::NextLine(text, &line)) {
    std::string_view rest = line;
    if (proc::NextToken(rest) != "MemAvailable:") continue;
    auto kb = proc::ParseU64(proc::NextToken(rest));
    return kb ? *kb * 1024 / 2 : 0;
  }
  return 0;
}

// Established TCP sockets go back to normal mode before their owners run again, and their
// peers' segments are let through again (the network lock, engine/net/net_lock.h).
void LeaveTcpRepair(DumpContext& ctx) {
  for (UniqueFd& fd : ctx.tcp_in_repair) {
    Status s = net::LeaveTcpRepair(fd.get(), /*window_probe=*/false, "a dumped TCP socket");
    if (!s.ok()) ctx.log.Warn("%s", s.error().message().c_str());
    auto tuple = net::TupleOfSocket(fd.get(), "a dumped TCP socket");
    if (tuple.ok()) s = net::UnlockConnection(*tuple, "a dumped TCP socket");
    if (!tuple.ok() || !s.ok()) ctx.log.Warn("%s", (tuple.ok() ? s.error() : tuple.error()).message().c_str());
  }
  ctx.tcp_in_repair.clear();
}

// Everything after the tree is frozen. On error the caller removes what was written; the
// FrozenTree's destructor resumes the tree.
Status DumpFrozen(DumpContext& ctx, FrozenTree& tree, PageDumper& pager, double frozen_at) {
  const uint64_t dump_time_ns = RealtimeNs();
  STASIS_TRY(CollectNamespaces(tree, ctx.log, &ctx.namespaces));
  {
    const NetNsGuard in_tree_netns = STASIS_VALUE(EnterTreeNetNs(ctx.namespaces, tree.root()));
    for (const FrozenProcess& p : tree.processes()) {
      if (p.zombie) continue;
      STASIS_TRY(DumpProcess(ctx, pager, p));
    }
  }
  if (ctx.options.leave_running) {
    // Every byte is in our memory or already written: the tree need not wait for the disk.
    LeaveTcpRepair(ctx);
    tree.Resume();
    ctx.stats.frozen_seconds = MonotonicSeconds() - frozen_at;
    ctx.log.Info("resumed the tree after %.3f s", ctx.stats.frozen_seconds);
  }
  STASIS_TRY(pager.Finish(ctx));
  STASIS_TRY(WriteTreeImages(ctx, tree));
  STASIS_TRY(WriteInventory(ctx, dump_time_ns));
  if (!ctx.options.leave_running) {
    STASIS_TRY(tree.Kill(ctx.log));
    ctx.stats.frozen_seconds = MonotonicSeconds() - frozen_at;
  }
  return Status::Ok();
}

}  // namespace

Status Dump(const DumpOptions& options, Logger& log, DumpStats* stats) {
  if (options.pid <= 0) return InvalidArg("dump: a tree root pid (-t) is required");
  if (options.images_dir.empty()) return InvalidArg("dump: an images directory (-D) is required");
  STASIS_TRY(PrepareImagesDir(options.images_dir, log));

  DumpContext ctx(options, log);
  // Only -R gains from holding copies: the tree resumes before the disk is involved.
  const uint64_t spool_cap = options.leave_running ? SpoolCap() : 0;
  PageDumper pager = STASIS_VALUE(PageDumper::Create(kChunkBytes, spool_cap));
  const uint64_t estimate = spool_cap ? EstimateTreeCopyBytes(options.pid) : 0;
  STASIS_TRY(pager.Reserve(estimate + estimate / 16));
  log.Debug("page buffers: %llu MiB reserved for an estimated %llu MiB (cap %llu MiB)",
            static_cast<unsigned long long>(std::min(estimate + estimate / 16, spool_cap) >> 20),
            static_cast<unsigned long long>(estimate >> 20), static_cast<unsigned long long>(spool_cap >> 20));
  const double frozen_at = MonotonicSeconds();
  FrozenTree tree = STASIS_VALUE(FrozenTree::Freeze(options.pid, log));
  Status s = DumpFrozen(ctx, tree, pager, frozen_at);
  if (!s.ok()) {
    LeaveTcpRepair(ctx);
    tree.Resume();
    RemoveWrittenImages(ctx);
    return s;
  }
  log.Info("dump: %llu pages scanned, %llu written, %llu zero pages skipped",
           static_cast<unsigned long long>(ctx.stats.pages_scanned),
           static_cast<unsigned long long>(ctx.stats.pages_written),
           static_cast<unsigned long long>(ctx.stats.zero_pages_skipped));
  if (stats != nullptr) *stats = ctx.stats;
  return Status::Ok();
}

}  // namespace stasis::dump
