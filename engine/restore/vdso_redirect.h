// What restore does with the vDSO of each process: move this kernel's vDSO block to the dumped
// address when the dumped image is this kernel's own, or else keep the dumped image at its
// address and redirect its entry points into this kernel's vDSO, placed nearby (DESIGN.md, the
// hard parts). Decided from the images and this host before any process exists, and again,
// identically, per puppet when its memory is rebuilt.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "engine/arch/x86_64/vdso_patch.h"
#include "engine/common/error.h"
#include "engine/images/mm.pb.h"
#include "engine/restore/image_set.h"

namespace stasis::restore {

class Target;

struct VdsoArea {
  uint64_t start = 0;
  uint64_t end = 0;
  img::VmaKind kind = img::VMA_VDSO;
};

// This kernel's vDSO as one process sees it. Every puppet is a clone of the coordinator, so
// the coordinator's own areas and bytes stand for all of them.
struct HostVdso {
  std::vector<VdsoArea> areas;   // [vvar], [vvar_vclock], [vdso] by address; no [vsyscall]
  std::string image;             // the bytes of [vdso]; empty if there is none
};

// Reads /proc/PID/maps and the [vdso] bytes of `pid` (the caller itself or a stopped tracee).
Result<HostVdso> ReadVdso(pid_t pid);

enum class VdsoMode {
  kNothing,    // neither side has a vDSO, or it is already where it belongs
  kMove,       // this kernel's block, moved as a whole to the dumped addresses
  kRedirect,   // the dumped image at its address, its entry points redirected
  kDrop,       // the process had no vDSO: unmap this kernel's
};

struct VdsoDecision {
  VdsoMode mode = VdsoMode::kNothing;
  arch::VdsoRedirectPlan redirect;   // kRedirect
};

// Pure. `mm_file` names the image in errors. Refuses, naming the function, when the dumped
// vDSO cannot be redirected; refuses when the layouts differ and the image predates the
// dumped vDSO bytes (MmCore.vdso_image).
Result<VdsoDecision> DecideVdso(const img::MmCore& mm, const std::string& mm_file, const HostVdso& host);

// The pre-clone check: DecideVdso for every live process of the set against this host.
Status CheckVdso(const ImageSet& set);

// Pure. Where this kernel's vDSO block (`size` bytes) goes when redirecting: a page-aligned
// place inside the user address space that overlaps no range of `avoid`, as close to `near`
// as possible (so that a 5-byte jmp reaches it). 0 if there is none.
uint64_t PickRedirectBase(std::vector<std::pair<uint64_t, uint64_t>> avoid, uint64_t size, uint64_t near);

// Executes a kRedirect decision in a puppet whose own vDSO areas are `current`: moves them
// to a free place near the dumped [vdso], maps the patched dumped image at its address and
// reserves the dumped [vvar] ranges.
Status RedirectVdso(Target& t, const std::vector<VdsoArea>& current, const VdsoDecision& decision);

}  // namespace stasis::restore
