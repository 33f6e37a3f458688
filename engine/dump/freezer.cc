#include "engine/dump/freezer.h"

#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <set>
#include <string>

#include "engine/dump/proc_files.h"
#include "engine/proc/pid_list.h"

namespace stasis::dump {
namespace {

constexpr unsigned long kPfKthread = 0x00200000;   // PF_KTHREAD in stat's flags field
constexpr int kMaxWalkPasses = 1000;                // a tree that keeps growing this long is hostile
constexpr int kKillWaitMs = 10000;

std::string Pid(pid_t pid) { return "pid " + std::to_string(pid); }

Result<proc::ProcStat> ReadStat(pid_t pid) {
  std::string text = STASIS_VALUE(ReadProc(pid, "stat"));
  auto s = proc::ParseStat(text);
  if (!s.ok()) return std::move(s.error().Context(ProcPath(pid, "stat")));
  return s;
}

bool Contains(const FrozenProcess& p, pid_t tid) {
  return std::any_of(p.threads.begin(), p.threads.end(), [&](const auto& t) { return t->tid() == tid; });
}

// Seizes every thread of p not seized yet; returns how many were new. A thread that exits
// before we get to it is simply skipped.
Result<size_t> SeizeNewThreads(FrozenProcess& p, Logger& log) {
  auto tids = ListNumericDir(ProcPath(p.pid, "task"));
  if (!tids.ok()) return std::move(tids.error().Context(Pid(p.pid)));
  size_t added = 0;
  // The main thread first, so threads[0] is always it.
  std::stable_partition(tids->begin(), tids->end(), [&](int t) { return t == p.pid; });
  for (pid_t tid : *tids) {
    if (Contains(p, tid)) continue;
    auto seized = inject::SeizedThread::Seize(tid);
    if (!seized.ok()) {
      if (!PathExists(ProcPath(p.pid, "task/" + std::to_string(tid)))) continue;   // it exited
      if (seized.error().sys_errno() == EPERM)
        return Error(ErrorKind::kInvalidArgument,
                     "cannot seize thread " + std::to_string(tid) + " of " + Pid(p.pid) +
                         ": already traced by another process, or not permitted (" + seized.error().message() + ")");
      return std::move(seized.error().Context(Pid(p.pid)));
    }
    log.Debug("seized thread %d of pid %d%s", tid, p.pid, (*seized)->group_stopped() ? " (group-stopped)" : "");
    p.threads.push_back(std::move(*seized));
    ++added;
  }
  return added;
}

// Brings p to a fully stopped state: all its threads seized, re-listing until stable.
Status FreezeProcess(FrozenProcess& p, Logger& log) {
  for (int pass = 0;; ++pass) {
    if (pass > kMaxWalkPasses) return Unsupported(Pid(p.pid) + " keeps creating threads faster than it can be frozen");
    size_t added = STASIS_VALUE(SeizeNewThreads(p, log));
    if (added == 0) break;
  }
  if (p.threads.empty() || p.threads.front()->tid() != p.pid)
    return Unsupported(Pid(p.pid) + ": its main thread has exited while other threads run (not supported)");
  for (const auto& t : p.threads)
    if (t->group_stopped()) p.stop_signal = t->stop_signal();
  p.stat = STASIS_VALUE(ReadStat(p.pid));
  return Status::Ok();
}

Result<std::vector<pid_t>> Children(const FrozenProcess& p) {
  std::vector<pid_t> out;
  for (const auto& t : p.threads) {
    std::string text = STASIS_VALUE(ReadProc(p.pid, "task/" + std::to_string(t->tid()) + "/children"));
    auto kids = proc::ParsePidList(text);
    if (!kids.ok()) return std::move(kids.error().Context(ProcPath(p.pid, "task/" + std::to_string(t->tid()) + "/children")));
    out.insert(out.end(), kids->begin(), kids->end());
  }
  return out;
}

// True if `pid` is stasis or one of its ancestors: freezing it would freeze us with it.
bool IsSelfOrAncestor(pid_t pid) {
  for (pid_t p = ::getpid(); p > 1;) {
    if (p == pid) return true;
    auto stat = ReadStat(p);
    if (!stat.ok()) return false;
    p = stat->ppid;
  }
  return false;
}

}  // namespace

Result<FrozenTree> FrozenTree::Freeze(pid_t root, Logger& log) {
  if (root <= 1) return InvalidArg("refusing to dump " + Pid(root));
  if (IsSelfOrAncestor(root)) return InvalidArg("the tree of " + Pid(root) + " contains stasis itself");
  FrozenTree tree;
  std::set<pid_t> known;
  std::deque<std::pair<pid_t, pid_t>> queue{{root, 0}};   // (pid, ppid)
  known.insert(root);
  const pid_t self = ::getpid();

  for (int pass = 0;; ++pass) {
    if (pass > kMaxWalkPasses) return Unsupported(Pid(root) + ": the tree keeps growing while it is frozen");
    while (!queue.empty()) {
      auto [pid, ppid] = queue.front();
      queue.pop_front();
      if (pid == self) return InvalidArg("the tree of " + Pid(root) + " contains stasis itself");
      FrozenProcess p;
      p.pid = pid;
      p.ppid = ppid;
      auto stat = ReadStat(pid);
      if (!stat.ok()) {
        if (pid == root && stat.error().kind() == ErrorKind::kNotFound)
          return Error(ErrorKind::kNotFound, Pid(root) + " does not exist");
        return std::move(stat).error();
      }
      if (stat->flags & kPfKthread) return InvalidArg(Pid(pid) + " is a kernel thread");
      if (stat->state == 'Z') {
        if (pid == root) return InvalidArg(Pid(root) + " is a zombie; nothing to dump");
        // A zombie leader whose other threads still run shows 'Z' too: not a real zombie.
        auto tids = STASIS_VALUE(ListNumericDir(ProcPath(pid, "task")));
        if (tids.size() > 1)
          return Unsupported(Pid(pid) + ": its main thread has exited while other threads run (not supported)");
        p.zombie = true;
        p.stat = std::move(*stat);
        log.Debug("pid %d is a zombie (exit code %d)", pid, p.stat.exit_code);
        tree.processes_.push_back(std::move(p));
        continue;
      }
      if (stat->state == 'X') return Error(ErrorKind::kNotFound, Pid(pid) + " is exiting");
      Status frozen = FreezeProcess(p, log);
      if (!frozen.ok()) {
        // Lost the race with its exit: a child whose parent is frozen cannot be reaped, so it
        // must be a zombie now.
        auto again = ReadStat(pid);
        if (pid != root && again.ok() && again->state == 'Z' && p.threads.empty()) {
          p.zombie = true;
          p.stat = std::move(*again);
          tree.processes_.push_back(std::move(p));
          continue;
        }
        return std::move(frozen).error();
      }
      for (pid_t child : STASIS_VALUE(Children(p))) {
        if (known.insert(child).second) queue.emplace_back(child, pid);
      }
      tree.processes_.push_back(std::move(p));
    }
    // Check pass: once a process is fully stopped it cannot add threads or children, so a
    // pass that finds nothing new proves the whole tree is frozen.
    bool grew = false;
    for (FrozenProcess& p : tree.processes_) {
      if (p.zombie) continue;
      size_t added = STASIS_VALUE(SeizeNewThreads(p, log));
      if (added) {
        grew = true;
        STASIS_TRY(FreezeProcess(p, log));
      }
      for (pid_t child : STASIS_VALUE(Children(p))) {
        if (known.insert(child).second) {
          queue.emplace_back(child, p.pid);
          grew = true;
        }
      }
    }
    if (!grew) break;
  }
  log.Info("froze %zu processes", tree.processes_.size());
  return tree;
}

void FrozenTree::Resume() {
  for (FrozenProcess& p : processes_)
    for (auto& t : p.threads) (void)t->Detach(0);
}

Status FrozenTree::Kill(Logger& log) {
  for (FrozenProcess& p : processes_)
    if (!p.zombie && ::kill(p.pid, SIGKILL) != 0 && errno != ESRCH) return SysError("kill " + Pid(p.pid));
  // As the tracer we are told about each thread's death first; consuming it lets the kernel
  // release the thread and report the process to its real parent.
  // Other threads before the main one: a leader's death is only reported once its thread
  // group is empty, and our threads stay in it until we reap them. Children before parents:
  // a pid namespace's init only finishes dying once every other process inside is reaped.
  for (auto proc = processes_.rbegin(); proc != processes_.rend(); ++proc) {
    FrozenProcess& p = *proc;
    for (auto it = p.threads.rbegin(); it != p.threads.rend(); ++it) {
      auto& t = *it;
      for (;;) {
        int status = 0;
        pid_t r = ::waitpid(t->tid(), &status, __WALL);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0 || WIFEXITED(status) || WIFSIGNALED(status)) break;
      }
      t->Forget();
    }
  }
  // Children are reaped by their (reparented) parents; the root's parent is outside the tree
  // and may leave it a zombie. Either way, wait for the process to stop running.
  timespec start{};
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (FrozenProcess& p : processes_) {
    for (;;) {
      auto stat = ReadStat(p.pid);
      if (!stat.ok() || stat->state == 'Z' || stat->start_time != p.stat.start_time) break;
      timespec now{};
      clock_gettime(CLOCK_MONOTONIC, &now);
      long waited_ms = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
      if (waited_ms > kKillWaitMs) {
        log.Warn("pid %d still exists %d ms after SIGKILL", p.pid, kKillWaitMs);
        break;
      }
      ::usleep(1000);
    }
  }
  return Status::Ok();
}

}  // namespace stasis::dump
