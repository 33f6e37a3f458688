// fuzz_image_set: everything restore does before its first syscall that changes the system:
// the whole image set through ParseImageSet (every cross-reference) and BuildPlan. The input
// packs named files (fuzz_support.h); every message image is tried as given and with its
// checksums repaired. A set that loads must load identically after every file is re-encoded,
// and its plan must be internally consistent.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "engine/images/show.h"
#include "engine/restore/image_set.h"
#include "engine/restore/plan.h"
#include "fuzz/fuzz_support.h"

namespace stasis::fuzz {
namespace {

using Files = std::map<std::string, std::string>;

// Everything ParseImageSet produced, as one comparable string.
std::string Fingerprint(const restore::ImageSet& set) {
  std::string out = set.inventory.SerializeAsString();
  for (const auto& p : set.processes) {
    out += "|P" + p.entry.SerializeAsString() + p.core.SerializeAsString() + p.mm.SerializeAsString();
    for (const auto& run : p.pagemap) out += "|R" + run.SerializeAsString();
    for (uint64_t off : p.run_offsets) out += "|O" + std::to_string(off);
    out += "|B" + std::to_string(p.pages_bytes);
    for (const auto& fd : p.fds) out += "|F" + fd.SerializeAsString();
  }
  for (const auto& [id, f] : set.files) out += "|E" + std::to_string(id) + f.SerializeAsString();
  return out;
}

// Every message image decoded and encoded again in canonical form; others left alone.
Files Reencoded(const Files& files) {
  Files out = files;
  for (auto& [name, bytes] : out) {
    const images::ImageKindInfo* kind = images::FindImageKindByName(name);
    if (kind == nullptr || kind->prototype == nullptr) continue;
    auto decoded = images::DecodeImage(*kind, Bytes(bytes), bytes.size(), name);
    if (!decoded.ok()) continue;
    std::vector<std::string> bodies;
    for (const auto& m : decoded->messages) bodies.push_back(m->SerializeAsString());
    bytes = images::EncodeMessageImage(kind->kind, bodies);
  }
  return out;
}

void CheckPlan(const restore::ImageSet& set, bool shell_job) {
  auto plan = restore::BuildPlan(set, {.shell_job = shell_job});
  if (!plan.ok()) {
    CheckErrorLine(plan.error());
    return;
  }
  const int n = static_cast<int>(set.processes.size());
  Check(static_cast<int>(plan->processes.size()) == n, "plan and image set differ in process count");
  int roots = 0;
  for (int i = 0; i < n; ++i) {
    const restore::ProcessPlan& p = plan->processes[i];
    if (p.parent < 0) ++roots;
    Check(p.parent < i, "a process is planned before its parent");
    for (int c : p.children) {
      Check(c > i && c < n, "a child index out of range or before its parent");
      Check(plan->processes[c].parent == i, "children and parent links disagree");
    }
    // Ascending within each phase; the kAfterOthers files (epoll) come after every other one.
    for (size_t k = 1; k < p.fds.size(); ++k) {
      const restore::FdStep &a = p.fds[k - 1], &b = p.fds[k];
      Check(!a.after_others || b.after_others, "an fd of the first phase planned after the last phase");
      Check(a.after_others != b.after_others || a.fd < b.fd, "fd steps not ascending within their phase");
    }
    for (const restore::FdStep& fd : p.fds) {
      Check(fd.fd >= 0 && fd.fd < p.control_fd_floor, "an fd at or above the control fd floor");
      if (fd.source == restore::FdSource::kFromPeer)
        Check(set.IndexOf(fd.peer_pid) >= 0 && set.IndexOf(fd.peer_pid) < i, "an fd taken from a later or unknown peer");
    }
  }
  Check(roots == 1, "the plan does not have exactly one root");
  // Trampoline candidates: page-aligned, mappable, clear of every dumped VMA.
  constexpr uint64_t kSize = restore::kTrampolinePages * images::kPageSize;
  for (int i = 0; i < n; ++i) {
    for (uint64_t at : plan->processes[i].trampoline_candidates) {
      Check(at % images::kPageSize == 0 && at >= 0x10000 && at + kSize <= 0x7ffffffff000,
            "a trampoline candidate outside the mappable range");
      for (const img::Vma& v : set.processes[i].mm.vmas())
        if (v.kind() != img::VMA_VSYSCALL)
          Check(at + kSize <= v.start() || at >= v.end(), "a trampoline candidate overlaps a VMA");
    }
  }
  for (const restore::SharedAnonObject& obj : plan->shared_anon)
    Check(obj.size > 0 && obj.size % images::kPageSize == 0, "a shared anonymous object of no whole pages");
}

void CheckImageSet(const Files& files) {
  auto set = restore::ParseImageSet(files);
  if (!set.ok()) {
    CheckErrorLine(set.error());
    return;
  }
  Check(!set->processes.empty(), "an image set without processes loaded");
  Check(set->processes[0].pid() == set->inventory.root_pid(), "the first process is not the root");
  for (size_t i = 0; i < set->processes.size(); ++i) {
    const restore::ProcessImage& p = set->processes[i];
    Check(set->IndexOf(p.pid()) == static_cast<int>(i), "IndexOf does not find a loaded pid");
    if (!p.zombie()) Check(p.run_offsets.size() == p.pagemap.size(), "a pagemap run without an offset");
  }

  auto again = restore::ParseImageSet(Reencoded(files));
  if (!again.ok()) Fail("set no longer loads after re-encoding: " + again.error().message());
  Check(Fingerprint(*set) == Fingerprint(*again), "re-encoding the images changed the loaded set");

  CheckPlan(*set, false);
  CheckPlan(*set, true);
}

}  // namespace
}  // namespace stasis::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  stasis::fuzz::SilenceProtobufLogs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace stasis::fuzz;
  const Files files = SplitNamedFiles({data, size});
  CheckImageSet(files);
  Files repaired = files;
  bool changed = false;
  for (auto& [name, bytes] : repaired) {
    std::string fixed = WithValidChecksums(bytes);
    changed |= fixed != bytes;
    bytes = std::move(fixed);
  }
  if (changed) CheckImageSet(repaired);
  return 0;
}
