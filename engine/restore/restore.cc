// `stasis restore`: the pipeline.
//
// Design: the ptrace-driven "puppet" (DESIGN.md, Restore, option b). Each restored process
// starts as a fork-like clone3() of the coordinator with its dumped pid, sets up what is
// simplest from inside (session, group, fds, cwd), creates its own children, maps a three-page
// trampoline (one `syscall` instruction plus argument pages) and waits. The coordinator then
// seizes it and rebuilds everything else by injecting syscalls through that one instruction:
// unmapping the coordinator's copy, moving the vDSO, mapping the dumped VMAs, writing pages
// with process_vm_writev, PR_SET_MM_MAP, threads, signals, credentials; finally it removes the
// trampoline and sets every thread's registers.
// Why not CRIU's position-independent restorer blob: with the puppet all logic stays ordinary
// C++ in the coordinator (Result errors naming the object, logging, no freestanding build),
// nothing of ours is left in the restored address space, and the same injection library
// (engine/inject) serves both dump and restore. The price is a ptrace round trip per syscall,
// which only matters per VMA, never per page.
#include "engine/restore/restore.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <memory>

#include "engine/common/fd.h"
#include "engine/inject/seized_task.h"
#include "engine/restore/host_checks.h"
#include "engine/restore/image_set.h"
#include "engine/restore/locks_restore.h"
#include "engine/restore/namespaces_restore.h"
#include "engine/restore/plan.h"
#include "engine/restore/puppet.h"
#include "engine/restore/target.h"
#include "engine/restore/tcp_finish.h"
#include "engine/restore/timers_restore.h"
#include "engine/restore/tree.h"
#include "engine/restore/vdso_redirect.h"

namespace stasis::restore {
namespace {

using Clock = std::chrono::steady_clock;

int TerminalFd() {
  for (int fd = 0; fd <= 2; ++fd)
    if (::isatty(fd)) return fd;
  return -1;
}

int CapLastCap() {
  auto text = ReadFileToString("/proc/sys/kernel/cap_last_cap", 64);
  if (!text.ok()) return 40;
  int v = std::atoi(text->c_str());
  return v > 0 && v < 64 ? v : 40;
}

// Puppets keep their control sockets above every dumped fd, which may be above our soft limit.
void RaiseFdSoftLimit() {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &r);
  }
}

Status MapSharedAnonObjects(const RestorePlan& plan, std::vector<ScopedMapping>& maps,
                            std::vector<uint64_t>& addrs) {
  for (const SharedAnonObject& obj : plan.shared_anon) {
    void* addr = ::mmap(nullptr, obj.size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (addr == MAP_FAILED)
      return SysError("create shared anonymous object (inode " + std::to_string(obj.inode) + ", " +
                      std::to_string(obj.size) + " bytes)");
    maps.emplace_back(addr, obj.size);
    addrs.push_back(reinterpret_cast<uint64_t>(addr));
  }
  return Status::Ok();
}

Status RestoreProcess(const RestoreContext& ctx, Target& t) {
  Logger& log = *ctx.log;
  auto main = STASIS_VALUE_CTX(
      inject::SeizedThread::Seize(t.pid(), PTRACE_O_TRACECLONE | PTRACE_O_EXITKILL), t.who());
  t.puppet().threads.push_back(std::move(main));
  t.injectors().push_back(STASIS_VALUE_CTX(inject::SyscallInjector::Create(t.pid(), t.trampoline()), t.who()));
  log.Debug("%s: seized, trampoline at 0x%llx", t.who().c_str(), static_cast<unsigned long long>(t.trampoline()));

  STASIS_TRY(DropPuppetRseq(t));
  STASIS_TRY(UnmapPuppetMemory(t));
  STASIS_TRY(MoveVdso(ctx, t));
  STASIS_TRY(MapVmas(ctx, t));
  const auto pages_start = Clock::now();
  STASIS_TRY(WritePages(ctx, t));
  log.Debug("%s: %llu bytes of pages written in %.3f s", t.who().c_str(),
            static_cast<unsigned long long>(t.image().pages_bytes),
            std::chrono::duration<double>(Clock::now() - pages_start).count());
  STASIS_TRY(FinishVmas(ctx, t));
  STASIS_TRY(RestoreMmFields(t));
  STASIS_TRY(RestoreSigactions(t));
  STASIS_TRY(CreateThreads(t));
  STASIS_TRY(RestoreThreadState(t));
  STASIS_TRY(QueuePendingSignals(ctx, t));
  STASIS_TRY(RestoreTimers(ctx, t));
  STASIS_TRY(RestoreFileLocks(ctx, t));
  STASIS_TRY(RestoreRlimits(ctx, t));
  STASIS_TRY(RestoreCredsAndProcessState(ctx, t));
  STASIS_TRY(SetFinalThreadState(t));
  log.Debug("%s: ready", t.who().c_str());
  return Status::Ok();
}

// Resumes everything at once; group-stopped processes go back into their stop.
Status ResumeTree(const ImageSet& set, CreatedTree& tree) {
  for (size_t i = 0; i < set.processes.size(); ++i) {
    Puppet& p = tree.puppets()[i];
    const img::ProcessEntry& e = set.processes[i].entry;
    for (size_t n = 0; n < p.threads.size(); ++n) {
      const int sig = (n == 0 && e.state() == img::TASK_STOPPED)
                          ? static_cast<int>(e.stop_signal() != 0 ? e.stop_signal() : SIGSTOP)
                          : 0;
      STASIS_TRY_CTX(p.threads[n]->Detach(sig), "pid " + std::to_string(p.pid));
    }
    p.threads.clear();
  }
  return Status::Ok();
}

Status WritePidfile(const std::string& path, pid_t pid) {
  auto fd = STASIS_VALUE(OpenFile(path, O_WRONLY | O_CREAT | O_TRUNC, 0644));
  const std::string text = std::to_string(pid) + "\n";
  return WriteAll(fd.get(), text.data(), text.size(), path);
}

Status RestoreAll(const RestoreOptions& options, Logger& log, int* exit_status, RestoreStats* stats,
                  Clock::time_point start) {
  // 1. Everything that can be checked is checked before the first process exists.
  ImageSet loaded = STASIS_VALUE(LoadImageSet(options.images_dir));
  // With a pid namespace this renumbers the set to the pids inside it (namespaces_restore.h).
  const NamespacePlan namespaces = STASIS_VALUE(LoadNamespaces(options.images_dir, loaded, options.shell_job));
  const ImageSet& set = loaded;
  const RestorePlan plan = STASIS_VALUE(BuildPlan(set, PlanOptions{options.shell_job}));
  for (const auto& [id, file] : set.files)
    if (file.has_inet_sk() && file.inet_sk().protocol() == IPPROTO_TCP &&
        file.inet_sk().state() == TCP_ESTABLISHED && !options.tcp_established)
      return InvalidArg("files.img: file id " + std::to_string(id) +
                        " is an established TCP connection: restore with --tcp-established");
  if (!set.file_locks.empty() && !options.file_locks)
    return InvalidArg("file-locks.img: the tree held " + std::to_string(set.file_locks.size()) +
                      " file locks: restore with --file-locks");
  STASIS_TRY(CheckCpuFeatures(set));
  STASIS_TRY(CheckVdso(set));   // same vDSO, or one that can be redirected
  STASIS_TRY(CheckCapabilities(set));
  STASIS_TRY(CheckFilesExist(set, log));
  STASIS_TRY(VerifyPageChecksums(set, options.images_dir));
  if (!namespaces.pid()) STASIS_TRY(CheckPidsFree(set));   // a new pid namespace has every pid free
  PuppetContext puppet_ctx{&set, &plan, ::getpid(), options.shell_job ? TerminalFd() : -1};
  if (namespaces.present) puppet_ctx.namespaces = &namespaces;
  if (options.shell_job && puppet_ctx.coordinator_tty_fd < 0) {
    for (const ProcessPlan& p : plan.processes)
      for (const FdStep& s : p.fds)
        if (s.source == FdSource::kTerminal)
          return InvalidArg("--shell-job: the images hold a terminal but stasis has none on fd 0-2");
  }
  log.Debug("images of %zu processes validated in %.3f s", set.processes.size(),
            std::chrono::duration<double>(Clock::now() - start).count());

  RestoreContext ctx;
  ctx.set = &set;
  ctx.plan = &plan;
  ctx.images_dir = options.images_dir;
  ctx.log = &log;
  ctx.coordinator = ::getpid();
  ctx.cap_last_cap = CapLastCap();
  std::vector<ScopedMapping> shared_objects;
  STASIS_TRY(MapSharedAnonObjects(plan, shared_objects, ctx.shared_anon_addrs));
  RaiseFdSoftLimit();

  // The puppets hand fds to each other (the other end of a pipe, ...) through this table.
  void* table = ::mmap(nullptr, sizeof(SharedFdTable), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (table == MAP_FAILED) return SysError("map the fd exchange table");
  const ScopedMapping exchange_mapping(table, sizeof(SharedFdTable));
  puppet_ctx.exchange = static_cast<SharedFdTable*>(table);

  // 2. The tree, with its pids. From here on any failure kills all of it (CreatedTree).
  // Declared before the tree: on failure the tree dies first, then the peers are let through
  // (to a reset: a lock left behind would blackhole a later connection on the same ports).
  TcpLockRelease tcp_lock(set, log);
  CreatedTree tree(log);
  STASIS_TRY(CreateTree(puppet_ctx, tree, log));

  // 3. Each process in turn, held stopped until all are ready.
  std::vector<std::unique_ptr<Target>> targets;
  for (size_t i = 0; i < set.processes.size(); ++i) {
    if (set.processes[i].zombie()) continue;
    targets.push_back(std::make_unique<Target>(set.processes[i], plan.processes[i], tree.puppets()[i]));
    STASIS_TRY(RestoreProcess(ctx, *targets.back()));
  }

  // 4. Resume all together.
  targets.clear();
  const pid_t root = tree.puppets()[0].pid;
  STASIS_TRY(FinishTcpConnections(set, plan, tree));   // out of repair mode, all together
  STASIS_TRY(ResumeTree(set, tree));
  tree.Release();
  tcp_lock.Release();   // the restored sockets own their connections now
  if (stats != nullptr) stats->seconds = std::chrono::duration<double>(Clock::now() - start).count();
  log.Info("restored %zu processes, root pid %d", set.processes.size(), root);
  if (!options.pidfile.empty()) {
    Status s = WritePidfile(options.pidfile, root);
    if (!s.ok()) log.Error("%s", s.error().message().c_str());   // the tree runs; do not fail it
  }
  if (options.detached) return Status::Ok();
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(root, &status, __WALL);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return SysError("wait for the restored root pid " + std::to_string(root));
    if (WIFEXITED(status) || WIFSIGNALED(status)) {
      if (exit_status != nullptr) *exit_status = status;
      return Status::Ok();
    }
  }
}

}  // namespace

Status Restore(const RestoreOptions& options, Logger& log, int* exit_status, RestoreStats* stats) {
  return RestoreAll(options, log, exit_status, stats, Clock::now());
}

}  // namespace stasis::restore
