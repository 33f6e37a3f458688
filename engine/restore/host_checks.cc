#include "engine/restore/host_checks.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <set>
#include <thread>

#include "engine/arch/x86_64/cpu_state.h"
#include "engine/common/crc32c.h"
#include "engine/common/fd.h"
#include "engine/images/image_format.h"
#include "engine/images/image_io.h"
#include "engine/restore/image_checks.h"

namespace stasis::restore {
namespace {

bool ProcExists(uint32_t pid) {
  struct stat st;
  return ::stat(("/proc/" + std::to_string(pid)).c_str(), &st) == 0;
}

// "(sleep, S)" from /proc/PID/stat, or "" if it vanished meanwhile.
std::string DescribeProcess(uint32_t pid) {
  auto stat = ReadFileToString("/proc/" + std::to_string(pid) + "/stat", 4096);
  if (!stat.ok()) return "";
  const std::string& s = *stat;
  size_t open = s.find('(');
  size_t close = s.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open || close + 2 >= s.size())
    return "";
  return " (" + s.substr(open + 1, close - open - 1) + ", " + s.substr(close + 2, 1) + ")";
}

}  // namespace

Status VerifyPageChecksums(const ImageSet& set, const std::string& dir) {
  for (const ProcessImage& proc : set.processes) {
    if (proc.zombie() || proc.pagemap.empty()) continue;
    const std::string name = images::ImageFileName("pages", proc.file_pid());
    UniqueFd fd = STASIS_VALUE(OpenFile(dir + "/" + name, O_RDONLY));
    const size_t size = images::kPageSize + proc.pages_bytes;
    void* addr = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd.get(), 0);
    if (addr == MAP_FAILED) return SysError("mmap " + dir + "/" + name);
    ScopedMapping map(addr, size);
    ::madvise(addr, size, MADV_SEQUENTIAL);
    const auto* base = static_cast<const uint8_t*>(addr) + images::kPageSize;
    for (size_t i = 0; i < proc.pagemap.size(); ++i) {
      const img::PagemapEntry& run = proc.pagemap[i];
      const uint64_t bytes = static_cast<uint64_t>(run.nr_pages()) * images::kPageSize;
      if (Crc32c(0, base + proc.run_offsets[i], bytes) != run.crc32c())
        return Corrupt(name + ": run " + std::to_string(i) + " (" + Hex(run.vaddr()) + "+" +
                       std::to_string(run.nr_pages()) + " pages): checksum mismatch");
    }
  }
  return Status::Ok();
}

Status CheckCpuFeatures(const ImageSet& set) {
  const uint64_t supported = arch::SupportedXfeatures();
  for (const ProcessImage& proc : set.processes) {
    for (const img::ThreadCore& t : proc.core.threads()) {
      const uint64_t missing = arch::XstateFeatures(t.xstate()) & ~supported;
      if (missing != 0)
        return Unsupported("xstate of thread " + std::to_string(t.tid()) + " uses features " +
                           Hex(missing) + " this CPU lacks (it has " + Hex(supported) + ")");
    }
  }
  return Status::Ok();
}

Status CheckCapabilities(const ImageSet& set) {
  // capset() may only keep or drop what the caller has: every puppet starts with our sets.
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (::syscall(SYS_capget, &header, data) != 0) return SysError("capget");
  const uint64_t ours = data[0].permitted | (static_cast<uint64_t>(data[1].permitted) << 32);
  for (const ProcessImage& proc : set.processes) {
    for (const img::ThreadCore& t : proc.core.threads()) {
      const uint64_t missing = (t.creds().cap_prm() | t.creds().cap_inh()) & ~ours;
      if (missing != 0)
        return Unsupported("thread " + std::to_string(t.tid()) + " had capabilities " + Hex(missing) +
                           " that this restorer does not hold (it has " + Hex(ours) + "), so it cannot give them back");
    }
  }
  return Status::Ok();
}

Status CheckPidsFree(const ImageSet& set, int wait_ms) {
  std::vector<uint32_t> ids;
  for (const ProcessImage& proc : set.processes) {
    ids.push_back(proc.pid());
    for (int t = 1; t < proc.entry.threads_size(); ++t) ids.push_back(proc.entry.threads(t));
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  for (uint32_t id : ids) {
    while (ProcExists(id) && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (ProcExists(id)) return InvalidArg("pid " + std::to_string(id) + " is in use" + DescribeProcess(id));
  }
  return Status::Ok();
}

Status CheckFilesExist(const ImageSet& set, Logger& log) {
  for (const auto& [id, file] : set.files) {
    if (!file.has_reg() || file.reg().ghost()) continue;   // recreated from the images
    struct stat st;
    if (::stat(file.reg().path().c_str(), &st) != 0)
      return SysError("files.img: file id " + std::to_string(id) + ": " + file.reg().path());
    const uint32_t dumped_type = file.reg().mode() & S_IFMT;
    if (dumped_type != 0 && dumped_type != (st.st_mode & S_IFMT))
      return InvalidArg("files.img: file id " + std::to_string(id) + ": " + file.reg().path() +
                        " is no longer the same kind of file (mode " + Hex(st.st_mode & S_IFMT) +
                        ", was " + Hex(dumped_type) + ")");
    if (S_ISREG(st.st_mode) && static_cast<uint64_t>(st.st_size) < file.reg().size())
      log.Warn("%s is now %lld bytes, it had %llu at dump time", file.reg().path().c_str(),
               static_cast<long long>(st.st_size), static_cast<unsigned long long>(file.reg().size()));
  }
  std::set<std::string> checked;
  for (const ProcessImage& proc : set.processes) {
    const std::string mm_name = images::ImageFileName("mm", proc.pid());
    for (const img::Vma& v : proc.mm.vmas()) {
      if (v.kind() != img::VMA_FILE_PRIVATE && v.kind() != img::VMA_FILE_SHARED) continue;
      if (!checked.insert(v.path()).second) continue;
      struct stat st;
      if (::stat(v.path().c_str(), &st) != 0)
        return SysError(mm_name + ": mapping " + Hex(v.start()) + " of " + v.path());
    }
    for (const std::string* dir : {&proc.core.cwd(), &proc.core.root()}) {
      struct stat st;
      if (dir->empty()) continue;
      if (::stat(dir->c_str(), &st) != 0)
        return SysError(images::ImageFileName("core", proc.pid()) + ": directory " + *dir);
      if (!S_ISDIR(st.st_mode))
        return InvalidArg(images::ImageFileName("core", proc.pid()) + ": " + *dir + " is not a directory");
    }
    if (!proc.mm.exe_path().empty() && checked.insert(proc.mm.exe_path()).second) {
      struct stat st;
      if (::stat(proc.mm.exe_path().c_str(), &st) != 0)
        return SysError(mm_name + ": executable " + proc.mm.exe_path());
    }
  }
  return Status::Ok();
}

}  // namespace stasis::restore
