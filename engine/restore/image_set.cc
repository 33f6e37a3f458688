#include "engine/restore/image_set.h"

#include "engine/common/printable.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <set>
#include <span>

#include "engine/common/fd.h"
#include "engine/files/registry.h"
#include "engine/images/image_format.h"
#include "engine/images/image_io.h"
#include "engine/restore/image_checks.h"
#include "engine/restore/locks_checks.h"
#include "engine/restore/timers_checks.h"

namespace stasis::restore {
namespace {

using images::ImageFileName;
using images::ImageKind;

constexpr const char kInventory[] = "inventory.img";
constexpr const char kPstree[] = "pstree.img";
constexpr const char kFiles[] = "files.img";
constexpr size_t kMaxImageNameLength = 255;
constexpr size_t kMaxImagesInSet = 8 * kMaxProcesses + 16;

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

template <typename Msg>
Result<std::vector<Msg>> ParseAll(const std::map<std::string, std::string>& files,
                                  const std::string& name, ImageKind kind) {
  auto it = files.find(name);
  if (it == files.end()) return Corrupt(name + ": missing from the image set");
  return images::ParseMessages<Msg>(Bytes(it->second), kind, name);
}

template <typename Msg>
Result<Msg> ParseOne(const std::map<std::string, std::string>& files, const std::string& name,
                     ImageKind kind) {
  auto all = STASIS_VALUE(ParseAll<Msg>(files, name, kind));
  if (all.size() != 1)
    return Corrupt(name + ": expected exactly one " + Msg::descriptor()->name() + ", found " +
                   std::to_string(all.size()));
  return std::move(all[0]);
}

// Names come from an untrusted inventory and are later opened inside the images directory.
bool IsPlainImageName(const std::string& name) {
  if (name.empty() || name.size() > kMaxImageNameLength || name[0] == '.') return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

Status CheckInventory(const img::Inventory& inv, const std::map<std::string, std::string>& files) {
  if (inv.root_pid() == 0 || inv.root_pid() >= kMaxPid)
    return Corrupt(std::string(kInventory) + ": root pid " + std::to_string(inv.root_pid()));
  if (inv.xstate_size() > kMaxXstateSize)
    return Corrupt(std::string(kInventory) + ": xstate size " + std::to_string(inv.xstate_size()) +
                   " exceeds the limit of " + std::to_string(kMaxXstateSize));
  if (static_cast<size_t>(inv.images_size()) > kMaxImagesInSet)
    return Corrupt(std::string(kInventory) + ": names " + std::to_string(inv.images_size()) + " images");
  for (const std::string& name : inv.images()) {
    if (!IsPlainImageName(name))
      return Corrupt(std::string(kInventory) + ": image name '" + Printable(name, 64) +
                     "' is not a plain file name");
    if (files.find(name) == files.end())
      return Corrupt(name + ": named in inventory.img but missing from the image set");
  }
  return Status::Ok();
}

// pstree.img: unique pids and tids, the root first, parents before children.
Status CheckPstree(const std::vector<img::ProcessEntry>& entries, uint32_t root_pid) {
  const std::string f = kPstree;
  if (entries.empty()) return Corrupt(f + ": no processes");
  if (entries.size() > kMaxProcesses)
    return Corrupt(f + ": " + std::to_string(entries.size()) + " processes (limit " +
                   std::to_string(kMaxProcesses) + ")");
  std::set<uint32_t> pids;   // processes created so far, in pstree order
  std::set<uint32_t> ids;    // every pid and tid
  std::set<uint32_t> zombies;
  for (size_t i = 0; i < entries.size(); ++i) {
    const img::ProcessEntry& e = entries[i];
    const std::string where = f + ": pid " + std::to_string(e.pid());
    if (e.pid() == 0 || e.pid() >= kMaxPid) return Corrupt(where + ": invalid pid");
    if (!img::TaskState_IsValid(e.state()))
      return Corrupt(where + ": unknown task state " + std::to_string(e.state()));
    if (e.pgid() >= kMaxPid || e.sid() >= kMaxPid)
      return Corrupt(where + ": invalid process group " + std::to_string(e.pgid()) + " or session " +
                     std::to_string(e.sid()));
    if (e.exit_signal() > 64 || e.stop_signal() > 64)
      return Corrupt(where + ": invalid exit or stop signal");
    if (e.comm().size() > 63) return Corrupt(where + ": comm is too long");
    if (i == 0) {
      if (e.pid() != root_pid)
        return Corrupt(where + ": first entry is not the root pid " + std::to_string(root_pid) +
                       " of inventory.img");
      if (e.ppid() != 0) return Corrupt(where + ": the root has parent " + std::to_string(e.ppid()));
      if (e.state() == img::TASK_ZOMBIE) return Corrupt(where + ": the root is a zombie");
    } else {
      if (e.ppid() == 0) return Corrupt(where + ": a second root (parent 0)");
      if (pids.count(e.ppid()) == 0) {
        // A parent listed later would make a cycle possible; one not listed at all is missing.
        for (size_t later = i; later < entries.size(); ++later)
          if (entries[later].pid() == e.ppid())
            return Corrupt(where + ": parent " + std::to_string(e.ppid()) + " is listed after it");
        return Corrupt(where + ": parent " + std::to_string(e.ppid()) + " is not in the dumped tree");
      }
      if (zombies.count(e.ppid()) != 0)
        return Corrupt(where + ": parent " + std::to_string(e.ppid()) + " is a zombie");
    }
    if (e.state() == img::TASK_ZOMBIE) {
      if (e.threads_size() != 0) return Corrupt(where + ": a zombie with threads");
      zombies.insert(e.pid());
    } else {
      if (e.threads_size() == 0 || e.threads(0) != e.pid())
        return Corrupt(where + ": threads[0] is not the pid itself");
      if (static_cast<size_t>(e.threads_size()) > kMaxThreadsPerProcess)
        return Corrupt(where + ": " + std::to_string(e.threads_size()) + " threads");
    }
    if (!ids.insert(e.pid()).second) return Corrupt(where + ": pid used twice");
    for (int t = 1; t < e.threads_size(); ++t) {
      if (e.threads(t) == 0 || e.threads(t) >= kMaxPid)
        return Corrupt(where + ": invalid tid " + std::to_string(e.threads(t)));
      if (!ids.insert(e.threads(t)).second)
        return Corrupt(where + ": tid " + std::to_string(e.threads(t)) + " used twice");
    }
    pids.insert(e.pid());
  }
  return Status::Ok();
}

Status CheckFiles(const std::vector<img::FileEntry>& entries, const files::ObjectStore& objects,
                  std::map<uint64_t, img::FileEntry>* out) {
  const std::string f = kFiles;
  if (entries.size() > kMaxFiles)
    return Corrupt(f + ": " + std::to_string(entries.size()) + " files (limit " +
                   std::to_string(kMaxFiles) + ")");
  for (const img::FileEntry& e : entries) {
    const std::string where = f + ": file id " + std::to_string(e.id());
    if (e.file_case() == img::FileEntry::FILE_NOT_SET) return Corrupt(where + ": no file kind");
    if (e.has_reg() && !IsUsablePath(e.reg().path())) return Corrupt(where + ": unusable path");
    if (e.has_reg() && e.reg().ghost()) {
      constexpr uint64_t kMaxGhostBytes = 16u << 20;   // what the dump stores at most
      const uint64_t data_end = objects.DataEnd(images::ImageKind::kGhostData, {e.reg().dev(), e.reg().inode()});
      if (e.reg().size() > kMaxGhostBytes || data_end > e.reg().size())
        return Corrupt(where + ": deleted file " + Printable(e.reg().path(), 256) + " claims " +
                       std::to_string(e.reg().size()) + " bytes with " + std::to_string(data_end) + " stored");
    }
    if (const files::FileKind* kind = files::FindKindFor(e)) {
      Status s = kind->Validate(e, objects);
      if (!s.ok()) return std::move(s.error().Context(where));
    }
    if (!out->emplace(e.id(), e).second) return Corrupt(where + ": appears twice");
  }
  return Status::Ok();
}

Status ParseProcess(const std::map<std::string, std::string>& files, const ImageSet& set,
                    ProcessImage& proc) {
  const uint32_t pid = proc.pid();
  const std::string core_name = ImageFileName("core", pid);
  proc.core = STASIS_VALUE(ParseOne<img::TaskCore>(files, core_name, ImageKind::kCore));
  STASIS_TRY(CheckTaskCore(proc.core, proc.entry, core_name));

  const std::string mm_name = ImageFileName("mm", pid);
  proc.mm = STASIS_VALUE(ParseOne<img::MmCore>(files, mm_name, ImageKind::kMm));
  STASIS_TRY(CheckMm(proc.mm, mm_name));

  const std::string pages_name = ImageFileName("pages", pid);
  auto pages = files.find(pages_name);
  if (pages == files.end()) return Corrupt(pages_name + ": missing from the image set");
  if (pages->second.size() != images::kPageSize)
    return Corrupt(pages_name + ": header page of " + std::to_string(pages->second.size()) +
                   " bytes, expected " + std::to_string(images::kPageSize));
  images::ImageHeader header =
      STASIS_VALUE(images::DecodeHeader(Bytes(pages->second), ImageKind::kPages, pages_name));
  // The rest of the header page is zeros: a flipped byte there is damage like any other.
  const size_t stray = pages->second.find_first_not_of('\0', images::kImageHeaderSize);
  if (stray != std::string::npos)
    return Corrupt(pages_name + ": non-zero byte at offset " + std::to_string(stray) +
                   " in the padding of the header page");
  if (header.payload_size % images::kPageSize != 0)
    return Corrupt(pages_name + ": " + std::to_string(header.payload_size) +
                   " bytes of pages is not a whole number of pages");
  proc.pages_bytes = header.payload_size;

  const std::string pagemap_name = ImageFileName("pagemap", pid);
  proc.pagemap = STASIS_VALUE(ParseAll<img::PagemapEntry>(files, pagemap_name, ImageKind::kPagemap));
  STASIS_TRY(CheckPagemap(proc, pagemap_name));

  const std::string fdinfo_name = ImageFileName("fdinfo", pid);
  proc.fds = STASIS_VALUE(ParseAll<img::FdEntry>(files, fdinfo_name, ImageKind::kFdinfo));
  STASIS_TRY(CheckFds(proc.fds, set.files, fdinfo_name));

  const std::string timers_name = ImageFileName("timers", pid);
  if (files.count(timers_name) != 0) {
    proc.timers = STASIS_VALUE(ParseOne<img::TaskTimers>(files, timers_name, ImageKind::kTimers));
    STASIS_TRY(CheckTimers(proc.timers, proc.core, timers_name));
  }
  return Status::Ok();
}

}  // namespace

int ImageSet::IndexOf(uint32_t pid) const {
  // A renumbering (namespaces_restore.h) may leave the map stale: trust only verified hits.
  if (auto it = index_by_pid.find(pid); it != index_by_pid.end() &&
      static_cast<size_t>(it->second) < processes.size() && processes[it->second].pid() == pid)
    return it->second;
  for (size_t i = 0; i < processes.size(); ++i)
    if (processes[i].pid() == pid) return static_cast<int>(i);
  return -1;
}

Result<ImageSet> ParseImageSet(const std::map<std::string, std::string>& files) {
  ImageSet set;
  set.inventory = STASIS_VALUE(ParseOne<img::Inventory>(files, kInventory, ImageKind::kInventory));
  STASIS_TRY(CheckInventory(set.inventory, files));

  auto entries = STASIS_VALUE(ParseAll<img::ProcessEntry>(files, kPstree, ImageKind::kPstree));
  STASIS_TRY(CheckPstree(entries, set.inventory.root_pid()));

  auto file_entries = STASIS_VALUE(ParseAll<img::FileEntry>(files, kFiles, ImageKind::kFiles));
  set.objects = STASIS_VALUE(files::ObjectStore::Parse(files));
  STASIS_TRY(CheckFiles(file_entries, set.objects, &set.files));

  set.processes.resize(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    ProcessImage& proc = set.processes[i];
    proc.entry = std::move(entries[i]);
    set.index_by_pid.emplace(proc.pid(), static_cast<int>(i));
    if (proc.zombie()) continue;
    STASIS_TRY(ParseProcess(files, set, proc));
  }
  if (files.count("file-locks.img") != 0) {
    set.file_locks = STASIS_VALUE(ParseAll<img::FileLock>(files, "file-locks.img", ImageKind::kFileLocks));
    STASIS_TRY(CheckFileLocks(set.file_locks, set));
  }
  return set;
}

Result<ImageSet> LoadImageSet(const std::string& dir) {
  std::map<std::string, std::string> files;
  files[kInventory] = STASIS_VALUE(images::ReadImageBytes(dir, kInventory));
  auto inventory = STASIS_VALUE(
      images::ParseMessages<img::Inventory>(Bytes(files[kInventory]), ImageKind::kInventory, kInventory));
  if (inventory.size() != 1) return Corrupt(std::string(kInventory) + ": expected exactly one Inventory");

  for (const std::string& name : inventory[0].images()) {
    if (!IsPlainImageName(name))
      return Corrupt(std::string(kInventory) + ": image name '" + Printable(name, 64) +
                     "' is not a plain file name");
    if (files.count(name) != 0) continue;
    if (name.rfind("pages-", 0) == 0) {
      // Only the header page is parsed; the raw pages are mapped later, straight from the file.
      UniqueFd fd = STASIS_VALUE(OpenFile(dir + "/" + name, O_RDONLY));
      struct stat st;
      if (::fstat(fd.get(), &st) != 0) return SysError("stat " + dir + "/" + name);
      if (st.st_size < static_cast<off_t>(images::kPageSize))
        return Corrupt(name + ": shorter than its header page");
      std::string header(images::kPageSize, '\0');
      STASIS_TRY(PreadAll(fd.get(), header.data(), header.size(), 0, dir + "/" + name));
      auto h = images::DecodeHeader(Bytes(header), ImageKind::kPages, name);
      if (h.ok() && h->payload_size != static_cast<uint64_t>(st.st_size) - images::kPageSize)
        return Corrupt(name + ": header promises " + std::to_string(h->payload_size) +
                       " bytes of pages, file has " +
                       std::to_string(st.st_size - images::kPageSize));
      files[name] = std::move(header);
    } else {
      files[name] = STASIS_VALUE(images::ReadImageBytes(dir, name));
    }
  }
  return ParseImageSet(files);
}

}  // namespace stasis::restore
