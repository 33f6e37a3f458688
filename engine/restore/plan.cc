#include "engine/restore/plan.h"

#include <fcntl.h>

#include <algorithm>
#include <limits>
#include <set>

#include "engine/files/registry.h"
#include "engine/images/image_format.h"
#include "engine/images/image_io.h"
#include "engine/restore/image_checks.h"

namespace stasis::restore {
namespace {

constexpr uint64_t kPage = images::kPageSize;
constexpr uint64_t kLowestMappable = 0x10000;        // default vm.mmap_min_addr
constexpr uint64_t kHighestMappable = kTaskSize;
// Flags that describe how the file was created rather than how it is open.
constexpr int kCreationFlags = O_CREAT | O_TRUNC | O_EXCL | O_CLOEXEC | 020000000 /* __O_TMPFILE */;

std::string PidText(uint32_t pid) { return "pid " + std::to_string(pid); }

Status PlanSessionAndGroup(const ImageSet& set, size_t i, const PlanOptions& options,
                           ProcessPlan& plan) {
  const img::ProcessEntry& e = set.processes[i].entry;
  const img::ProcessEntry* parent =
      plan.parent >= 0 ? &set.processes[static_cast<size_t>(plan.parent)].entry : nullptr;
  const std::string who = "pstree.img: " + PidText(e.pid());

  if (e.sid() == e.pid()) {
    plan.session = SessionStep::kNewSession;
  } else if (parent == nullptr) {
    if (!options.shell_job)
      return InvalidArg(who + " belongs to session " + std::to_string(e.sid()) +
                        ", which is outside the dumped tree: restore with --shell-job");
    plan.session = SessionStep::kInherit;
  } else if (parent->sid() != e.sid()) {
    return Unsupported(who + " is in session " + std::to_string(e.sid()) + " but its parent " +
                       std::to_string(parent->pid()) + " is in session " +
                       std::to_string(parent->sid()) + "; such trees are not supported yet");
  }

  if (e.pgid() == e.pid()) {
    // setsid() already made it the leader of a new group.
    plan.group = plan.session == SessionStep::kNewSession ? GroupStep::kInherit : GroupStep::kOwnGroup;
    return Status::Ok();
  }
  if (plan.session == SessionStep::kNewSession)
    return Corrupt(who + " leads session " + std::to_string(e.sid()) + " but is in group " +
                   std::to_string(e.pgid()));
  if (parent != nullptr && parent->pgid() == e.pgid()) {
    plan.group = GroupStep::kInherit;
    return Status::Ok();
  }
  const int leader = set.IndexOf(e.pgid());
  if (leader >= 0 && static_cast<size_t>(leader) < i &&
      set.processes[static_cast<size_t>(leader)].entry.sid() == e.sid()) {
    plan.group = GroupStep::kJoin;
    plan.pgid = e.pgid();
    return Status::Ok();
  }
  if (parent == nullptr && options.shell_job) {
    plan.group = GroupStep::kInherit;   // stays in the restoring shell's job
    return Status::Ok();
  }
  if (leader < 0)
    return Unsupported(who + " is in process group " + std::to_string(e.pgid()) +
                       ", whose leader is not in the dumped tree; not supported yet");
  return Unsupported(who + " is in process group " + std::to_string(e.pgid()) +
                     ", whose leader is not restored before it in the same session; not supported yet");
}

Status PlanFds(const ImageSet& set, size_t i, const PlanOptions& options,
               std::map<uint64_t, std::pair<uint32_t, int>>& first_holder, ProcessPlan& plan) {
  const ProcessImage& proc = set.processes[i];
  const std::string file = images::ImageFileName("fdinfo", proc.pid());
  std::vector<const img::FdEntry*> fds;
  for (const img::FdEntry& fd : proc.fds) fds.push_back(&fd);
  std::sort(fds.begin(), fds.end(),
            [](const img::FdEntry* a, const img::FdEntry* b) { return a->fd() < b->fd(); });

  std::map<uint64_t, int> local;
  int max_fd = 2;
  for (const img::FdEntry* fd : fds) {
    const img::FileEntry& f = set.files.at(fd->file_id());
    FdStep step;
    step.fd = static_cast<int>(fd->fd());
    step.cloexec = fd->cloexec();
    max_fd = std::max(max_fd, step.fd);
    const files::FileKind* kind = files::FindKindFor(f);
    step.after_others = kind != nullptr && kind->phase() == files::OpenPhase::kAfterOthers;
    if (f.has_tty()) {
      if (!options.shell_job)
        return InvalidArg(file + ": fd " + std::to_string(fd->fd()) + " is a terminal (/dev/pts/" +
                          std::to_string(f.tty().index()) + "): restore with --shell-job");
      step.source = FdSource::kTerminal;
    } else if (auto it = local.find(f.id()); it != local.end()) {
      step.source = FdSource::kDupLocal;
      step.from_fd = it->second;
    } else if (auto peer = first_holder.find(f.id()); peer != first_holder.end()) {
      step.source = FdSource::kFromPeer;
      step.peer_pid = peer->second.first;
      step.from_fd = peer->second.second;
    } else if (kind != nullptr) {
      step.source = FdSource::kKind;
      step.entry = &f;
    } else if (!f.has_reg()) {
      const auto* field = img::FileEntry::descriptor()->FindFieldByNumber(static_cast<int>(f.file_case()));
      return Unsupported(file + ": fd " + std::to_string(fd->fd()) + ": " +
                         (field != nullptr ? field->name() : std::string("unknown")) +
                         " files cannot be restored yet");
    } else {
      step.source = FdSource::kOpen;
      step.path = f.reg().path();
      step.open_flags = static_cast<int>(f.reg().flags()) & ~kCreationFlags;
      step.pos = f.reg().pos();
      step.ghost = f.reg().ghost();
      step.entry = &f;
    }
    local.emplace(f.id(), step.fd);
    first_holder.emplace(f.id(), std::make_pair(proc.pid(), step.fd));
    plan.fds.push_back(std::move(step));
  }
  // Epolls register the other fds of the process, so those must be in place first.
  std::stable_partition(plan.fds.begin(), plan.fds.end(), [](const FdStep& s) { return !s.after_others; });
  plan.control_fd_floor = max_fd + 1;
  // When the floor is at the fd limit (a process that used its last allowed fd), the control
  // socket takes the highest unused number below it instead.
  std::set<int> used;
  for (const FdStep& step : plan.fds) used.insert(step.fd);
  for (int candidate = max_fd - 1; candidate >= 3; --candidate) {
    if (!used.count(candidate)) {
      plan.control_fd_spare = candidate;
      break;
    }
  }
  return Status::Ok();
}

Status PlanSharedAnon(const ImageSet& set, size_t i,
                      std::map<std::pair<uint64_t, uint64_t>, size_t>& index, RestorePlan& plan) {
  const ProcessImage& proc = set.processes[i];
  std::vector<int>& of_vma = plan.processes[i].shared_anon_of_vma;
  of_vma.assign(static_cast<size_t>(proc.mm.vmas_size()), -1);
  for (int n = 0; n < proc.mm.vmas_size(); ++n) {
    const img::Vma& v = proc.mm.vmas(n);
    if (v.kind() != img::VMA_ANON_SHARED) continue;
    const uint64_t len = v.end() - v.start();
    if (v.pgoff() > kUserAddressLimit || len > kUserAddressLimit - v.pgoff())
      return Corrupt(images::ImageFileName("mm", proc.pid()) + ": shared mapping " + Hex(v.start()) +
                     " has offset " + Hex(v.pgoff()) + " beyond any possible object");
    // Without an inode the dump could not tell objects apart: each VMA is its own object.
    std::pair<uint64_t, uint64_t> key{v.dev(), v.inode()};
    if (v.inode() == 0) key = {std::numeric_limits<uint64_t>::max(), plan.shared_anon.size()};
    auto [it, added] = index.emplace(key, plan.shared_anon.size());
    if (added) plan.shared_anon.push_back({key.first, key.second, 0});
    SharedAnonObject& obj = plan.shared_anon[it->second];
    obj.size = std::max(obj.size, v.pgoff() + len);
    of_vma[static_cast<size_t>(n)] = static_cast<int>(it->second);
  }
  return Status::Ok();
}

}  // namespace

std::vector<uint64_t> FreeAreaCandidates(const img::MmCore& mm, uint64_t size, size_t max) {
  std::vector<std::pair<uint64_t, uint64_t>> gaps;   // [start, end)
  uint64_t cursor = kLowestMappable;
  auto add_gap = [&](uint64_t end) {
    if (end > cursor && end - cursor >= size) gaps.emplace_back(cursor, end);
  };
  for (const img::Vma& v : mm.vmas()) {
    if (v.kind() == img::VMA_VSYSCALL || v.start() >= kHighestMappable) continue;
    add_gap(v.start());
    cursor = std::max(cursor, v.end());
  }
  add_gap(kHighestMappable);
  std::stable_sort(gaps.begin(), gaps.end(), [](const auto& a, const auto& b) {
    return a.second - a.first > b.second - b.first;
  });

  std::vector<uint64_t> out;
  auto push = [&](uint64_t addr) {
    if (out.size() < max && std::find(out.begin(), out.end(), addr) == out.end()) out.push_back(addr);
  };
  // Middles first (far from anything either layout is likely to have), then the edges.
  for (const auto& [start, end] : gaps) push(start + (((end - start - size) / 2) & ~(kPage - 1)));
  for (const auto& [start, end] : gaps) push(end - size);
  for (const auto& [start, end] : gaps) push(start);
  return out;
}

Result<RestorePlan> BuildPlan(const ImageSet& set, const PlanOptions& options) {
  RestorePlan plan;
  plan.processes.resize(set.processes.size());
  std::map<uint64_t, std::pair<uint32_t, int>> first_holder;   // file id -> (pid, fd)
  std::map<std::pair<uint64_t, uint64_t>, size_t> shared_index;  // (dev, inode) -> object
  for (size_t i = 0; i < set.processes.size(); ++i) {
    const ProcessImage& proc = set.processes[i];
    ProcessPlan& p = plan.processes[i];
    if (i > 0) {
      p.parent = set.IndexOf(proc.entry.ppid());
      if (p.parent < 0 || static_cast<size_t>(p.parent) >= i)
        return Corrupt("pstree.img: " + PidText(proc.pid()) + ": parent is not listed before it");
      plan.processes[static_cast<size_t>(p.parent)].children.push_back(static_cast<int>(i));
    }
    STASIS_TRY(PlanSessionAndGroup(set, i, options, p));
    if (proc.zombie()) continue;
    STASIS_TRY(PlanFds(set, i, options, first_holder, p));
    STASIS_TRY(PlanSharedAnon(set, i, shared_index, plan));
    p.trampoline_candidates =
        FreeAreaCandidates(proc.mm, kTrampolinePages * kPage, kMaxTrampolineCandidates);
    if (p.trampoline_candidates.empty())
      return Unsupported(images::ImageFileName("mm", proc.pid()) +
                         ": no room for the restore trampoline in the dumped address space");
  }
  return plan;
}

}  // namespace stasis::restore
