#include "engine/restore/namespaces_restore.h"

#include <fcntl.h>
#include <dirent.h>
#include <sched.h>
#include <unistd.h>

#include <map>
#include <set>
#include <vector>

#include "engine/common/fd.h"
#include "engine/images/image_io.h"
#include "engine/net/netns_links.h"
#include "engine/proc/in_namespaces.h"
#include "engine/proc/ns_ids.h"
#include "engine/proc/text.h"
#include "engine/restore/ipc_namespace.h"

namespace stasis::restore {
namespace {

constexpr char kNsImage[] = "ns.img";
constexpr char kIpcImage[] = "ipc-ns.img";
constexpr size_t kMaxLinks = 4096;
constexpr size_t kMaxAddressesPerLink = 4096;

Status CheckImage(const img::Namespaces& ns) {
  const std::string f = kNsImage;
  if (ns.hostname().size() > 64 || ns.domainname().size() > 64) return Corrupt(f + ": host or domain name longer than 64 bytes");
  if ((!ns.hostname().empty() || !ns.domainname().empty()) && !ns.uts())
    return Corrupt(f + ": a host name without a uts namespace");
  if (static_cast<size_t>(ns.links_size()) > kMaxLinks) return Corrupt(f + ": too many links");
  if (ns.links_size() != 0 && !ns.net()) return Corrupt(f + ": links without a net namespace");
  for (const img::NetLink& l : ns.links()) {
    if (l.name().empty() || l.name().size() > 15) return Corrupt(f + ": link name '" + l.name().substr(0, 32) + "'");
    if (static_cast<size_t>(l.addresses_size()) > kMaxAddressesPerLink) return Corrupt(f + ": too many addresses on " + l.name());
  }
  return Status::Ok();
}

// pstree ns_* ids -> the ids the restore works with.
Status RenumberPids(ImageSet& set) {
  const std::string f = "pstree.img";
  std::map<uint32_t, uint32_t> inside;   // dumped pid or tid -> inside id
  std::set<uint32_t> used;
  for (const ProcessImage& p : set.processes) {
    const img::ProcessEntry& e = p.entry;
    const std::string who = f + ": pid " + std::to_string(e.pid());
    if (e.ns_pid() == 0 || e.ns_pid() >= kMaxPid) return Corrupt(who + ": invalid pid inside its namespace");
    if (e.ns_pgid() >= kMaxPid || e.ns_sid() >= kMaxPid) return Corrupt(who + ": invalid group or session inside its namespace");
    if (e.ns_threads_size() != e.threads_size()) return Corrupt(who + ": " + std::to_string(e.ns_threads_size()) +
                                                                " thread ids inside the namespace for " +
                                                                std::to_string(e.threads_size()) + " threads");
    if (e.threads_size() > 0 && e.ns_threads(0) != e.ns_pid()) return Corrupt(who + ": main thread id differs from the pid inside");
    for (int i = 0; i < e.threads_size(); ++i) {
      const uint32_t id = e.ns_threads(i);
      if (id == 0 || id >= kMaxPid || !used.insert(id).second)
        return Corrupt(who + ": id " + std::to_string(id) + " inside the namespace is invalid or used twice");
      inside[e.threads(i)] = id;
    }
    if (e.threads_size() == 0) {   // zombies
      if (!used.insert(e.ns_pid()).second) return Corrupt(who + ": pid inside the namespace is used twice");
    }
    inside[e.pid()] = e.ns_pid();
  }
  if (set.processes.empty() || set.processes[0].entry.ns_pid() != 1)
    return Corrupt(f + ": the root is not pid 1 of its pid namespace");
  for (ProcessImage& p : set.processes) {
    img::ProcessEntry& e = p.entry;
    p.dumped_pid = e.pid();
    e.set_pid(e.ns_pid());
    if (e.ppid() != 0) {
      auto parent = inside.find(e.ppid());
      if (parent == inside.end()) return Corrupt(f + ": pid " + std::to_string(e.pid()) + ": unknown parent");
      e.set_ppid(parent->second);
    }
    e.set_pgid(e.ns_pgid());
    e.set_sid(e.ns_sid());
    for (int i = 0; i < e.threads_size(); ++i) e.set_threads(i, e.ns_threads(i));
    if (p.zombie()) continue;
    p.core.set_pid(e.pid());
    for (img::ThreadCore& t : *p.core.mutable_threads()) {
      auto it = inside.find(t.tid());
      if (it == inside.end()) return Corrupt(images::ImageFileName("core", p.dumped_pid) + ": thread " +
                                             std::to_string(t.tid()) + " is not in pstree.img");
      t.set_tid(it->second);
    }
    // Timers that signal one thread name it too (the timer_create inside the namespace).
    for (img::PosixTimer& timer : *p.timers.mutable_posix()) {
      if (timer.notify_tid() == 0) continue;
      auto it = inside.find(timer.notify_tid());
      if (it == inside.end()) return Corrupt(images::ImageFileName("timers", p.dumped_pid) + ": timer " +
                                             std::to_string(timer.id()) + " signals unknown thread " +
                                             std::to_string(timer.notify_tid()));
      timer.set_notify_tid(it->second);
    }
  }
  // Each lock is taken again by the process that held it, now known by its id inside.
  for (img::FileLock& l : set.file_locks) {
    auto it = inside.find(l.pid());
    if (it == inside.end())
      return Corrupt("file-locks.img: a lock held by pid " + std::to_string(l.pid()) + ", which is not in pstree.img");
    l.set_pid(it->second);
  }
  set.index_by_pid.clear();
  for (size_t i = 0; i < set.processes.size(); ++i)
    set.index_by_pid.emplace(set.processes[i].pid(), static_cast<int>(i));
  return Status::Ok();
}

Result<pid_t> FindByNsId(const std::string& dir_of_status, const std::vector<int>& candidates, pid_t ns_id,
                         const char* what) {
  for (int c : candidates) {
    auto status = ReadFileToString(dir_of_status + "/" + std::to_string(c) + "/status", 1u << 16);
    if (!status.ok()) continue;   // gone or a zombie already reaped
    std::vector<uint32_t> ids = proc::ParseNsIdLine(*status, "NSpid");
    if (!ids.empty() && ids.back() == static_cast<uint32_t>(ns_id)) return static_cast<pid_t>(c);
  }
  return Internal(std::string("no ") + what + " with id " + std::to_string(ns_id) + " inside the pid namespace under " +
                  dir_of_status);
}

}  // namespace

uint64_t NamespacePlan::clone_flags() const {
  if (!present) return 0;
  uint64_t flags = 0;
  if (image.pid()) flags |= CLONE_NEWPID;
  if (image.net()) flags |= CLONE_NEWNET;
  if (image.ipc()) flags |= CLONE_NEWIPC;
  if (image.uts()) flags |= CLONE_NEWUTS;
  return flags;
}

Status ApplyNamespacesToSet(const img::Namespaces& ns, ImageSet& set) {
  STASIS_TRY(CheckImage(ns));
  if (ns.pid()) return RenumberPids(set);
  for (const ProcessImage& p : set.processes)
    if (p.entry.ns_pid() != 0 || p.entry.ns_threads_size() != 0)
      return Corrupt("pstree.img: pid " + std::to_string(p.pid()) + " has ids inside a pid namespace that ns.img does not have");
  return Status::Ok();
}

Result<NamespacePlan> LoadNamespaces(const std::string& images_dir, ImageSet& set, bool shell_job) {
  NamespacePlan plan;
  for (const std::string& name : set.inventory.images()) plan.present |= name == kNsImage;
  if (!plan.present) return ApplyNamespacesToSet(img::Namespaces(), set).ok()
                                ? Result<NamespacePlan>(plan)
                                : Result<NamespacePlan>(Corrupt("pstree.img: ids inside a pid namespace, but no ns.img"));
  plan.image = STASIS_VALUE(images::ReadMessage<img::Namespaces>(images_dir, kNsImage, images::ImageKind::kNamespaces));
  STASIS_TRY(ApplyNamespacesToSet(plan.image, set));
  bool has_sysv = false;
  for (const std::string& name : set.inventory.images()) has_sysv |= name == kIpcImage;
  if (has_sysv && !plan.image.ipc()) return Corrupt(std::string(kIpcImage) + ": SysV objects without an ipc namespace in ns.img");
  if (has_sysv) {
    plan.sysv = STASIS_VALUE(images::ReadMessage<img::IpcNamespace>(images_dir, kIpcImage, images::ImageKind::kIpcNamespace));
    STASIS_TRY(CheckIpcNamespace(plan.sysv, kIpcImage));
  }
  // A puppet inside the new pid namespace cannot name the coordinator to take its terminal.
  if (plan.pid() && shell_job) return Unsupported("--shell-job with a pid namespace is not supported yet");
  return plan;
}

Status ConfigureNamespaces(pid_t root, const NamespacePlan& ns, Logger& log) {
  if (!ns.present) return Status::Ok();
  const img::Namespaces& image = ns.image;
  std::vector<std::string> names;
  if (image.net()) names.push_back("net");
  if (image.uts()) names.push_back("uts");
  if (image.ipc()) names.push_back("ipc");
  if (names.empty()) return Status::Ok();
  (void)STASIS_VALUE_CTX(proc::RunInNamespaces(root, names, ErrorKind::kIO, [&]() -> Result<std::string> {
    if (image.uts() && ::sethostname(image.hostname().data(), image.hostname().size()) != 0)
      return SysError("sethostname");
    if (image.uts() && ::setdomainname(image.domainname().data(), image.domainname().size()) != 0)
      return SysError("setdomainname");
    if (image.net()) STASIS_TRY(net::ApplyNetLinks(image.links()));
    if (image.ipc()) STASIS_TRY(RestoreIpcNamespace(ns.sysv));
    return std::string();
  }), "restore namespaces");
  log.Debug("namespaces of pid %d configured (host name '%s', %d links)", root, image.hostname().c_str(), image.links_size());
  return Status::Ok();
}

Result<pid_t> HostPidOfChild(pid_t parent, pid_t ns_pid) {
  const std::string children_path = "/proc/" + std::to_string(parent) + "/task/" + std::to_string(parent) + "/children";
  const std::string text = STASIS_VALUE(ReadFileToString(children_path, 1u << 20));
  std::vector<int> kids;
  std::string_view rest = text;
  for (std::string_view tok = proc::NextToken(rest); !tok.empty(); tok = proc::NextToken(rest))
    if (auto v = proc::ParseU64(tok); v && *v < kMaxPid) kids.push_back(static_cast<int>(*v));
  return FindByNsId("/proc", kids, ns_pid, "child");
}

Result<pid_t> HostTidOf(pid_t pid, pid_t ns_tid) {
  const std::string task = "/proc/" + std::to_string(pid) + "/task";
  std::vector<int> tids;
  UniqueFd dir = STASIS_VALUE(OpenFile(task, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  DIR* d = ::fdopendir(dir.release());
  if (d == nullptr) return SysError("opendir " + task);
  while (dirent* e = ::readdir(d))
    if (auto v = proc::ParseU64(e->d_name); v && *v < kMaxPid) tids.push_back(static_cast<int>(*v));
  ::closedir(d);
  return FindByNsId(task, tids, ns_tid, "thread");
}

}  // namespace stasis::restore
