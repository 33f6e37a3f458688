#include "engine/dump/task_collector.h"

#include <sys/ptrace.h>
#include <sys/resource.h>

#include "engine/arch/x86_64/cpu_state.h"
#include "engine/dump/creds.h"
#include "engine/dump/proc_files.h"
#include "engine/dump/signals.h"
#include "engine/common/fd.h"
#include "engine/inject/rseq_config.h"
#include "engine/proc/limits.h"
#include "engine/proc/status.h"
#include "engine/proc/text.h"

namespace stasis::dump {
namespace {

Result<proc::ProcStatus> ReadStatus(pid_t pid, pid_t tid) {
  const std::string entry = "task/" + std::to_string(tid) + "/status";
  std::string text = STASIS_VALUE(ReadProc(pid, entry));
  auto s = proc::ParseStatus(text);
  if (!s.ok()) return std::move(s.error().Context(ProcPath(pid, entry)));
  return s;
}

Status CollectRseq(pid_t tid, img::RseqArea* out) {
  const inject::RseqConfig conf = STASIS_VALUE(inject::GetRseqConfig(tid));
  out->set_ptr(conf.area);
  out->set_len(conf.size);
  out->set_sig(conf.signature);
  out->set_flags(conf.flags);
  return Status::Ok();
}

Status CollectThread(DumpContext& ctx, pid_t pid, pid_t tid, img::ThreadCore* t) {
  t->set_tid(static_cast<uint32_t>(tid));
  const std::string task = "task/" + std::to_string(tid);
  std::string stat_text = STASIS_VALUE(ReadProc(pid, task + "/stat"));
  auto stat = proc::ParseStat(stat_text);
  if (!stat.ok()) return std::move(stat.error().Context(ProcPath(pid, task + "/stat")));
  t->set_comm(stat->comm);

  proc::ProcStatus status = STASIS_VALUE(ReadStatus(pid, tid));
  if (status.seccomp != 0)
    return Unsupported("thread " + std::to_string(tid) + " runs under seccomp (mode " + std::to_string(status.seccomp) +
                       "): not supported yet");
  CredsFromStatus(status, t->mutable_creds());

  user_regs_struct regs = STASIS_VALUE(arch::GetRegs(tid));
  arch::RegsToImage(regs, t->mutable_regs());
  std::string xstate = STASIS_VALUE(arch::GetXstate(tid));
  ctx.xfeatures |= arch::XstateFeatures(xstate);
  if (xstate.size() > ctx.xstate_size) ctx.xstate_size = static_cast<uint32_t>(xstate.size());
  t->set_xstate(std::move(xstate));

  t->set_blocked_mask(STASIS_VALUE(GetSigmask(tid)));
  STASIS_TRY(CollectRseq(tid, t->mutable_rseq()));
  for (std::string& si : STASIS_VALUE(PeekPendingSignals(tid, false))) t->add_pending(std::move(si));
  return Status::Ok();
}

// From /proc: prlimit() on a task with other credentials needs CAP_SYS_RESOURCE.
Status CollectRlimits(pid_t pid, img::TaskCore* core) {
  const std::string path = "/proc/" + std::to_string(pid) + "/limits";
  const std::string text = STASIS_VALUE(ReadFileToString(path));
  for (const proc::ResourceLimit& l : STASIS_VALUE_CTX(proc::ParseLimits(text), path)) {
    img::Rlimit* r = core->add_rlimits();
    r->set_resource(l.resource);
    r->set_cur(l.soft);
    r->set_max(l.hard);
  }
  return Status::Ok();
}

Result<std::string> ReadDirLink(pid_t pid, const char* which) {
  std::string path = STASIS_VALUE(ReadLink(ProcPath(pid, which)));
  if (path.ends_with(" (deleted)"))
    return Unsupported(std::string(which) + " is a deleted directory (" + path + "): not supported");
  if (path.empty() || path[0] != '/')
    return Unsupported(std::string(which) + " is not reachable from our root (" + path + ")");
  return path;
}

}  // namespace

Status CollectTask(DumpContext& ctx, const FrozenProcess& p, ProcessImages* out) {
  const pid_t pid = p.pid;
  const std::string who = "pid " + std::to_string(pid);
  img::TaskCore& core = out->core;
  out->pid = pid;
  core.set_pid(static_cast<uint32_t>(pid));
  core.set_comm(p.stat.comm);

  std::string pers = STASIS_VALUE_CTX(ReadProc(pid, "personality"), who);
  auto pers_value = proc::ParseU64(proc::TrimBlanks(pers), 16);
  if (!pers_value || *pers_value > 0xffffffffu) return Corrupt(ProcPath(pid, "personality") + ": \"" + pers + "\"");
  core.set_personality(static_cast<uint32_t>(*pers_value));

  proc::ProcStatus status = STASIS_VALUE(ReadStatus(pid, pid));
  core.set_umask(status.umask);
  STASIS_TRY_CTX(CollectRlimits(pid, &core), who);
  core.set_cwd(STASIS_VALUE_CTX(ReadDirLink(pid, "cwd"), who));
  core.set_root(STASIS_VALUE_CTX(ReadDirLink(pid, "root"), who));

  for (const auto& t : p.threads) STASIS_TRY_CTX(CollectThread(ctx, pid, t->tid(), core.add_threads()), who);
  for (std::string& si : STASIS_VALUE_CTX(PeekPendingSignals(pid, true), who)) core.add_shared_pending(std::move(si));
  return Status::Ok();
}

}  // namespace stasis::dump
