#include "engine/restore/tree.h"

#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "engine/restore/control.h"
#include "engine/restore/namespaces_restore.h"

namespace stasis::restore {
namespace {

using Clock = std::chrono::steady_clock;

std::string Who(pid_t pid) { return "pid " + std::to_string(pid); }

bool ProcExists(pid_t pid) {
  struct stat st;
  return ::stat(("/proc/" + std::to_string(pid)).c_str(), &st) == 0;
}

Result<PuppetReply> Ask(Puppet& puppet, PuppetCommand command, int child, UniqueFd* passed = nullptr) {
  const std::string who = Who(puppet.pid);
  STASIS_TRY(SendRequest(puppet.control.get(), PuppetRequest{command, child}, who));
  return ReceiveReply(puppet.control.get(), who, passed);
}

Status CreateRoot(const PuppetContext& ctx, Puppet& root) {
  const ProcessImage& img = ctx.set->processes[0];
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
    return SysError("socketpair for the root puppet");
  const int exit_signal = img.entry.exit_signal() != 0 ? static_cast<int>(img.entry.exit_signal()) : SIGCHLD;
  const uint64_t ns_flags = ctx.namespaces != nullptr ? ctx.namespaces->clone_flags() : 0;
  const bool new_pid_ns = (ns_flags & CLONE_NEWPID) != 0;
  long pid = CloneWithPid(static_cast<pid_t>(img.pid()), exit_signal, ns_flags);
  if (pid == 0) {
    ::close(sv[0]);
    // The init of a new pid namespace sees no parent: the coordinator is outside it.
    PuppetMain(ctx, 0, sv[1], new_pid_ns ? 0 : ctx.coordinator);
  }
  ::close(sv[1]);
  if (pid < 0) {
    ::close(sv[0]);
    if (pid == -EEXIST) return InvalidArg(Who(static_cast<pid_t>(img.pid())) + " is in use");
    return SysError("clone3 with pid " + std::to_string(img.pid()), static_cast<int>(-pid));
  }
  root.pid = static_cast<pid_t>(pid);
  root.ns_pid = new_pid_ns ? static_cast<pid_t>(img.pid()) : 0;
  root.control.reset(sv[0]);
  return Status::Ok();
}

Status SpawnChild(const PuppetContext& ctx, CreatedTree& tree, size_t index) {
  const ProcessImage& img = ctx.set->processes[index];
  Puppet& parent = tree.puppets()[static_cast<size_t>(ctx.plan->processes[index].parent)];
  Puppet& child = tree.puppets()[index];
  UniqueFd passed;
  auto reply = Ask(parent, PuppetCommand::kSpawnChild, static_cast<int>(index), &passed);
  if (!reply.ok()) {
    if (reply.error().sys_errno() == EEXIST)
      return InvalidArg(Who(static_cast<pid_t>(img.pid())) + " is in use");
    return std::move(reply).error();
  }
  child.zombie = img.zombie();
  if (parent.ns_pid != 0) {
    // The parent puppet answers with the pid inside the namespace; the coordinator needs its own.
    child.ns_pid = static_cast<pid_t>(reply->value);
    child.pid = STASIS_VALUE_CTX(HostPidOfChild(parent.pid, child.ns_pid), Who(child.ns_pid) + " inside the pid namespace");
  } else {
    child.pid = static_cast<pid_t>(reply->value);
  }
  if (!child.zombie) {
    if (!passed.valid()) return Internal(Who(child.pid) + ": no control socket came with the new puppet");
    child.control = std::move(passed);
  }
  return Status::Ok();
}

}  // namespace

Status CreateTree(const PuppetContext& ctx, CreatedTree& tree, Logger& log) {
  const ImageSet& set = *ctx.set;
  tree.puppets().resize(set.processes.size());
  for (size_t i = 0; i < set.processes.size(); ++i) {
    const ProcessImage& img = set.processes[i];
    Puppet& puppet = tree.puppets()[i];
    if (i == 0) {
      STASIS_TRY(CreateRoot(ctx, puppet));
      // Hostname, links and addresses are in place before any socket of the tree is made.
      if (ctx.namespaces != nullptr) STASIS_TRY(ConfigureNamespaces(puppet.pid, *ctx.namespaces, log));
    } else {
      STASIS_TRY(SpawnChild(ctx, tree, i));
    }
    const pid_t got = puppet.ns_pid != 0 ? puppet.ns_pid : puppet.pid;
    if (got != static_cast<pid_t>(img.pid()))
      return Internal(Who(static_cast<pid_t>(img.pid())) + ": the kernel gave pid " +
                      std::to_string(got) + " instead");
    if (puppet.ns_pid != 0)
      log.Debug("created %s (pid %d inside its namespace)%s", Who(puppet.pid).c_str(), puppet.ns_pid,
                puppet.zombie ? " (zombie)" : "");
    else
      log.Debug("created %s%s", Who(puppet.pid).c_str(), puppet.zombie ? " (zombie)" : "");
    if (puppet.zombie) continue;
    auto reply = STASIS_VALUE(Ask(puppet, PuppetCommand::kSetup, -1));
    puppet.control_fd_inside = reply.control_fd;
  }
  for (Puppet& puppet : tree.puppets()) {
    if (puppet.zombie) continue;
    auto reply = STASIS_VALUE(Ask(puppet, PuppetCommand::kMapTrampoline, -1));
    puppet.trampoline = reply.value;
    puppet.control_fd_inside = reply.control_fd;
  }
  return Status::Ok();
}

void CreatedTree::KillAll() {
  if (released_) return;
  released_ = true;
  for (auto it = puppets_.rbegin(); it != puppets_.rend(); ++it)
    if (it->pid > 0) ::kill(it->pid, SIGKILL);

  // Traced threads report their death to us (and the root, our child, too): collect those
  // reports so the kernel can release them, then wait for the rest to be reaped by their parents.
  std::vector<pid_t> reports;
  for (Puppet& p : puppets_) {
    for (auto& t : p.threads) {
      t->Forget();
      reports.push_back(t->tid());
    }
    p.threads.clear();
  }
  if (!puppets_.empty() && puppets_[0].pid > 0) reports.push_back(puppets_[0].pid);

  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (!reports.empty() && Clock::now() < deadline) {
    for (size_t i = 0; i < reports.size();) {
      int status;
      pid_t r = ::waitpid(reports[i], &status, WNOHANG | __WALL);
      if ((r < 0 && errno == ECHILD) || (r > 0 && (WIFEXITED(status) || WIFSIGNALED(status)))) {
        reports[i] = reports.back();
        reports.pop_back();
      } else {
        ++i;
      }
    }
    if (!reports.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  for (const Puppet& p : puppets_) {
    if (p.pid <= 0) continue;
    while (ProcExists(p.pid) && Clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (ProcExists(p.pid)) log_.Warn("pid %d is still there after SIGKILL", p.pid);
  }
  puppets_.clear();
}

}  // namespace stasis::restore
