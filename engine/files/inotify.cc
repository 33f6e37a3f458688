// inotify: its watches. Each watched inode is found again through its file handle (exact even
// if renamed since), or by the path resolved from that handle at dump. Watch descriptors are
// allocated cyclically, so a watch gets its old wd by adding and removing it until the counter
// reaches it. Events queued at dump are not kept.
#include "engine/files/inotify.h"

#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <vector>

#include "engine/common/fd.h"
#include "engine/files/epoll.h"
#include "engine/files/kinds.h"
#include "engine/proc/text.h"
#include "engine/files/status_flags.h"

namespace stasis::files {
namespace {

constexpr uint32_t kInotifyFlags = kCommonFlags | O_NONBLOCK;
constexpr uint32_t kWatchMask = IN_ALL_EVENTS | IN_ONLYDIR | IN_DONT_FOLLOW | IN_EXCL_UNLINK |
                                IN_MASK_ADD | IN_ONESHOT | IN_MASK_CREATE;
constexpr size_t kMaxHandleBytes = 128;         // MAX_HANDLE_SZ
constexpr size_t kMaxWatches = 1u << 20;
constexpr uint32_t kMaxWdSteps = 1u << 20;      // add/remove rounds to reach one wd

struct HandleBuffer {
  struct file_handle head;
  unsigned char bytes[kMaxHandleBytes];
};

// An O_PATH fd on the watched inode through its handle, or an invalid fd.
UniqueFd OpenByHandle(const img::InotifyWatch& w) {
  if (w.handle().empty() || w.handle().size() > kMaxHandleBytes) return UniqueFd();
  auto mountinfo = ReadFileToString("/proc/self/mountinfo");
  if (!mountinfo.ok()) return UniqueFd();
  auto mount_point = MountPointOfDev(*mountinfo, w.dev());
  if (!mount_point) return UniqueFd();
  // open_by_handle_at refuses an O_PATH mount fd (EBADF).
  UniqueFd mount_fd(::open(mount_point->c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!mount_fd.valid()) return UniqueFd();
  HandleBuffer h {};
  h.head.handle_bytes = static_cast<unsigned int>(w.handle().size());
  h.head.handle_type = w.handle_type();
  std::copy(w.handle().begin(), w.handle().end(), h.bytes);
  UniqueFd fd(::open_by_handle_at(mount_fd.get(), &h.head, O_PATH | O_CLOEXEC));
  struct stat st {};
  if (!fd.valid() || ::fstat(fd.get(), &st) != 0 || st.st_ino != w.inode() || st.st_dev != w.dev())
    return UniqueFd();
  return fd;
}

// Where the watched inode is now, as a path in our mount namespace.
Result<std::string> ResolveWatchPath(const img::InotifyWatch& w, const std::string& what) {
  UniqueFd fd = OpenByHandle(w);
  if (!fd.valid())
    return Unsupported(what + ": watched inode " + std::to_string(w.inode()) +
                       " cannot be opened by its handle (deleted, or its filesystem not mounted here)");
  char buf[PATH_MAX];
  const std::string self = "/proc/self/fd/" + std::to_string(fd.get());
  ssize_t n = ::readlink(self.c_str(), buf, sizeof buf);
  if (n < 0 || static_cast<size_t>(n) >= sizeof buf) return SysError(what + ": readlink " + self);
  std::string path(buf, static_cast<size_t>(n));
  if (path.empty() || path[0] != '/' || path.ends_with(" (deleted)"))
    return Unsupported(what + ": watched inode " + std::to_string(w.inode()) + " has no path (" + path + ")");
  return path;
}

class Inotify final : public FileKind {
 public:
  const char* name() const override { return "inotify"; }
  img::FileEntry::FileCase entry_case() const override { return img::FileEntry::kInotify; }

  bool Matches(const OpenFd& f) const override { return f.link == "anon_inode:inotify"; }

  Status Collect(const OpenFd& f, img::FileEntry* entry, CollectContext&) const override {
    img::InotifyFile in = STASIS_VALUE_CTX(ParseInotifyFdinfo(f.fdinfo), f.Describe());
    STASIS_TRY_CTX(CheckFlags(in.flags(), kInotifyFlags, "inotify"), f.Describe());
    for (auto& w : *in.mutable_watches())
      w.set_path(STASIS_VALUE(ResolveWatchPath(w, f.Describe() + ": watch " + std::to_string(w.wd()))));
    *entry->mutable_inotify() = std::move(in);
    return Status::Ok();
  }

  Status Validate(const img::FileEntry& entry, const ObjectStore&) const override {
    const img::InotifyFile& in = entry.inotify();
    STASIS_TRY(CheckFlags(in.flags(), kInotifyFlags, "inotify"));
    if (static_cast<size_t>(in.watches_size()) > kMaxWatches) return Corrupt("inotify: too many watches");
    std::vector<uint32_t> wds;
    for (const auto& w : in.watches()) {
      const std::string what = "inotify watch " + std::to_string(w.wd());
      if (w.wd() == 0 || w.wd() > INT_MAX) return Corrupt(what + ": bad wd");
      STASIS_TRY(CheckFlags(w.mask(), kWatchMask, what + " mask"));
      if (w.handle().size() > kMaxHandleBytes) return Corrupt(what + ": file handle too long");
      if (w.path().empty() || w.path()[0] != '/' || w.path().find('\0') != std::string::npos)
        return Corrupt(what + ": bad path");
      wds.push_back(w.wd());
    }
    std::sort(wds.begin(), wds.end());
    if (std::adjacent_find(wds.begin(), wds.end()) != wds.end()) return Corrupt("inotify: duplicate wd");
    return Status::Ok();
  }

  Result<UniqueFd> Open(const img::FileEntry& entry, OpenContext& ctx) const override {
    STASIS_TRY(Validate(entry, ctx.objects));
    const img::InotifyFile& in = entry.inotify();
    UniqueFd fd(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
    if (!fd.valid()) return SysError("inotify: create");
    std::vector<const img::InotifyWatch*> watches;
    for (const auto& w : in.watches()) watches.push_back(&w);
    std::sort(watches.begin(), watches.end(), [](auto* a, auto* b) { return a->wd() < b->wd(); });
    for (const img::InotifyWatch* w : watches) STASIS_TRY(AddWatch(fd.get(), *w));
    // Removing the stepping watches queued IN_IGNORED events the program never caused.
    char drain[4096];
    while (::read(fd.get(), drain, sizeof drain) > 0) {}
    STASIS_TRY(SetStatusFlags(fd.get(), in.flags(), "inotify"));
    return fd;
  }

 private:
  static Status AddWatch(int fd, const img::InotifyWatch& w) {
    const std::string what = "inotify watch " + std::to_string(w.wd()) + " (" + w.path() + ")";
    UniqueFd by_handle = OpenByHandle(w);
    const std::string path = by_handle.valid() ? "/proc/self/fd/" + std::to_string(by_handle.get()) : w.path();
    // The /proc magic link must be followed; the rest of the flags are per add.
    const uint32_t mask = w.mask() & ~(IN_DONT_FOLLOW | IN_MASK_ADD | IN_MASK_CREATE | IN_ONLYDIR);
    for (uint32_t step = 0; step < kMaxWdSteps; ++step) {
      const int wd = ::inotify_add_watch(fd, path.c_str(), mask);
      if (wd < 0) return SysError(what + ": inotify_add_watch");
      if (static_cast<uint32_t>(wd) == w.wd()) return Status::Ok();
      if (static_cast<uint32_t>(wd) > w.wd())
        return Unsupported(what + ": the kernel gave wd " + std::to_string(wd) + ", past the dumped one");
      if (::inotify_rm_watch(fd, wd) != 0) return SysError(what + ": inotify_rm_watch");
    }
    return Unsupported(what + ": wd too far from the previous one to reach");
  }
};

std::string UnescapeMountPath(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      auto v = proc::ParseU64(s.substr(i + 1, 3), 8);
      if (v && *v <= 0xff) {
        out.push_back(static_cast<char>(*v));
        i += 3;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

}  // namespace

std::optional<std::string> MountPointOfDev(std::string_view mountinfo, uint64_t dev) {
  std::string_view line;
  while (proc::NextLine(mountinfo, &line)) {
    proc::NextToken(line);  // mount id
    proc::NextToken(line);  // parent id
    std::string_view majmin = proc::NextToken(line);
    proc::NextToken(line);  // root within the filesystem
    std::string_view mount_point = proc::NextToken(line);
    size_t colon = majmin.find(':');
    if (colon == std::string_view::npos || mount_point.empty()) continue;
    auto major = proc::ParseU64(majmin.substr(0, colon));
    auto minor = proc::ParseU64(majmin.substr(colon + 1));
    if (!major || !minor || *major > 0xfff || *minor > 0xfffff) continue;
    if (makedev(*major, *minor) == dev) return UnescapeMountPath(mount_point);
  }
  return std::nullopt;
}

Result<img::InotifyFile> ParseInotifyFdinfo(std::string_view text) {
  auto head = STASIS_VALUE(proc::ParseFdInfo(text));
  img::InotifyFile in;
  in.set_flags(head.flags);
  std::string_view line;
  while (proc::NextLine(text, &line)) {
    if (!line.starts_with("inotify ")) continue;
    if (static_cast<size_t>(in.watches_size()) >= kMaxWatches) return Corrupt("inotify fdinfo: too many watches");
    const std::string bad = "inotify fdinfo: bad watch line \"" + std::string(line.substr(0, 200)) + "\"";
    std::string_view rest = line.substr(8);
    std::optional<uint64_t> wd, ino, sdev, mask, ignored, hbytes, htype;
    std::optional<std::string_view> handle;
    for (std::string_view tok = proc::NextToken(rest); !tok.empty(); tok = proc::NextToken(rest)) {
      size_t colon = tok.find(':');
      if (colon == std::string_view::npos) return Corrupt(bad);
      std::string_view key = tok.substr(0, colon), value = tok.substr(colon + 1);
      if (key == "f_handle") {
        if (handle) return Corrupt(bad);
        handle = value;
        continue;
      }
      std::optional<uint64_t>* slot = key == "wd" ? &wd : key == "ino" ? &ino : key == "sdev" ? &sdev
                                      : key == "mask" ? &mask : key == "ignored_mask" ? &ignored
                                      : key == "fhandle-bytes" ? &hbytes : key == "fhandle-type" ? &htype
                                      : nullptr;
      if (slot == nullptr) continue;
      if (slot->has_value()) return Corrupt(bad);
      *slot = proc::ParseU64(value, key == "wd" ? 10 : 16);
      if (!slot->has_value()) return Corrupt(bad);
    }
    if (!wd || !ino || !sdev || !mask || !ignored || *wd == 0 || *wd > INT_MAX || *mask > UINT32_MAX ||
        *ignored > UINT32_MAX)
      return Corrupt(bad);
    img::InotifyWatch* w = in.add_watches();
    w->set_wd(static_cast<uint32_t>(*wd));
    w->set_inode(*ino);
    w->set_dev(KernelDevToUser(*sdev));
    w->set_mask(static_cast<uint32_t>(*mask));
    w->set_ignored_mask(static_cast<uint32_t>(*ignored));
    // Without CONFIG_FHANDLE (or for filesystems without handles) the three fields are absent.
    if (hbytes || htype || handle) {
      if (!hbytes || !htype || !handle || *hbytes > kMaxHandleBytes || *htype > INT_MAX ||
          handle->size() != *hbytes * 2)
        return Corrupt(bad);
      std::string bytes;
      for (size_t i = 0; i < handle->size(); i += 2) {
        auto b = proc::ParseU64(handle->substr(i, 2), 16);
        if (!b) return Corrupt(bad);
        bytes.push_back(static_cast<char>(*b));
      }
      w->set_handle_type(static_cast<int32_t>(*htype));
      w->set_handle(std::move(bytes));
    }
  }
  return in;
}

const FileKind& InotifyKind() {
  static const Inotify kind;
  return kind;
}

}  // namespace stasis::files
