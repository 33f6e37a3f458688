// Per-image consistency checks used by ParseImageSet. Pure; every error names the image file
// and the object inside it.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "engine/common/error.h"
#include "engine/restore/image_set.h"

namespace stasis::restore {

// A path the restore may hand to open()/chdir(): absolute, no NUL, not longer than PATH_MAX.
bool IsUsablePath(std::string_view path);

// core-PID.img against the process's pstree entry: same pid, same thread list, sane sizes.
Status CheckTaskCore(const img::TaskCore& core, const img::ProcessEntry& entry,
                     const std::string& file);

// mm-PID.img: VMAs page-aligned, sorted, non-overlapping, in user space, known kinds.
Status CheckMm(const img::MmCore& mm, const std::string& file);

// pagemap-PID.img against the VMAs and the size of pages-PID.img; fills proc.run_offsets.
Status CheckPagemap(ProcessImage& proc, const std::string& file);

// fdinfo-PID.img: unique fd numbers below kMaxFdNumber, every file id known.
Status CheckFds(const std::vector<img::FdEntry>& fds,
                const std::map<uint64_t, img::FileEntry>& files, const std::string& file);

// A VMA kind whose contents can come from pages-PID.img.
bool VmaHoldsPages(img::VmaKind kind);
bool IsSpecialVma(img::VmaKind kind);   // vdso, vvar, vvar_vclock, vsyscall

std::string Hex(uint64_t v);

}  // namespace stasis::restore
