// epoll: its registered targets. Each is re-added by fd number at restore, so epolls are
// opened after every other fd of the process is in place (OpenPhase::kAfterOthers).
#include "engine/files/epoll.h"

#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <linux/kcmp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <map>

#include "engine/files/kinds.h"
#include "engine/proc/text.h"
#include "engine/files/status_flags.h"

namespace stasis::files {
namespace {

constexpr uint32_t kEpollFlags = kCommonFlags;
constexpr uint32_t kEpollEvents = EPOLLIN | EPOLLPRI | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLRDNORM |
                                  EPOLLRDBAND | EPOLLWRNORM | EPOLLWRBAND | EPOLLMSG | EPOLLRDHUP |
                                  EPOLLEXCLUSIVE | EPOLLWAKEUP | EPOLLONESHOT | EPOLLET;
constexpr size_t kMaxTargets = 1u << 20;

// Whether fd t.fd() of the owner is the very file registered as this target. kcmp
// KCMP_EPOLL_TFD compares the files; without kcmp (no CONFIG_CHECKPOINT_RESTORE) the inode is
// compared, which cannot tell apart two anon-inode files (all eventfds share one inode).
bool TargetIsStillItsFd(const OpenFd& f, const img::EpollTarget& t, uint64_t kdev, uint64_t toff) {
  struct kcmp_epoll_slot slot {static_cast<uint32_t>(f.fd), static_cast<uint32_t>(t.fd()), static_cast<uint32_t>(toff)};
  long same = ::syscall(SYS_kcmp, f.pid, f.pid, KCMP_EPOLL_TFD, static_cast<unsigned long>(t.fd()),
                        reinterpret_cast<unsigned long>(&slot));
  if (same >= 0 || errno != ENOSYS) return same == 0;
  const std::string path = "/proc/" + std::to_string(f.pid) + "/fd/" + std::to_string(t.fd());
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && st.st_ino == t.inode() && st.st_dev == KernelDevToUser(kdev);
}

class Epoll final : public FileKind {
 public:
  const char* name() const override { return "epoll"; }
  img::FileEntry::FileCase entry_case() const override { return img::FileEntry::kEpoll; }
  OpenPhase phase() const override { return OpenPhase::kAfterOthers; }

  bool Matches(const OpenFd& f) const override { return f.link == "anon_inode:[eventpoll]"; }

  Status Collect(const OpenFd& f, img::FileEntry* entry, CollectContext&) const override {
    std::vector<uint64_t> devs;
    img::EpollFile e = STASIS_VALUE_CTX(ParseEpollFdinfo(f.fdinfo, &devs), f.Describe());
    STASIS_TRY_CTX(CheckFlags(e.flags(), kEpollFlags, "epoll"), f.Describe());
    // Restore re-adds targets by fd number: each must still be that fd in this process (a
    // target whose fd was closed stays registered as long as its file lives elsewhere).
    std::map<uint32_t, uint64_t> seen_fd;   // the n-th target with one fd number: kcmp's toff
    for (int i = 0; i < e.targets_size(); ++i) {
      const img::EpollTarget& t = e.targets(i);
      if (!TargetIsStillItsFd(f, t, devs[i], seen_fd[t.fd()]++))
        return Unsupported(f.Describe() + ": epoll target fd " + std::to_string(t.fd()) +
                           " was closed or replaced after it was added");
    }
    *entry->mutable_epoll() = std::move(e);
    return Status::Ok();
  }

  Status Validate(const img::FileEntry& entry, const ObjectStore&) const override {
    const img::EpollFile& e = entry.epoll();
    STASIS_TRY(CheckFlags(e.flags(), kEpollFlags, "epoll"));
    if (static_cast<size_t>(e.targets_size()) > kMaxTargets) return Corrupt("epoll: too many targets");
    for (const auto& t : e.targets()) {
      const std::string what = "epoll target fd " + std::to_string(t.fd());
      if (t.fd() > INT_MAX) return Corrupt(what + ": bad fd");
      STASIS_TRY(CheckFlags(t.events(), kEpollEvents, what + " events"));
    }
    return Status::Ok();
  }

  Result<UniqueFd> Open(const img::FileEntry& entry, OpenContext& ctx) const override {
    STASIS_TRY(Validate(entry, ctx.objects));
    const img::EpollFile& e = entry.epoll();
    UniqueFd fd(::epoll_create1(EPOLL_CLOEXEC));
    if (!fd.valid()) return SysError("epoll: create");
    for (const auto& t : e.targets()) {
      const std::string what = "epoll target fd " + std::to_string(t.fd());
      const int target = ctx.fds.Find(static_cast<int>(t.fd()));
      if (target < 0)
        return Error(ErrorKind::kNotFound, what + ": not open in this process (an epoll nested in one opened later?)");
      struct epoll_event ev {};
      ev.events = t.events();
      ev.data.u64 = t.data();
      if (::epoll_ctl(fd.get(), EPOLL_CTL_ADD, target, &ev) != 0) return SysError(what + ": EPOLL_CTL_ADD");
    }
    STASIS_TRY(SetStatusFlags(fd.get(), e.flags(), "epoll"));
    return fd;
  }
};

// Splits "key:value" or "key: value" pairs off a line: returns false at the end.
bool NextPair(std::string_view& line, std::string_view* key, std::string_view* value) {
  std::string_view tok = proc::NextToken(line);
  if (tok.empty()) return false;
  size_t colon = tok.find(':');
  if (colon == std::string_view::npos) {
    *key = tok;
    *value = {};
    return true;
  }
  *key = tok.substr(0, colon);
  *value = tok.substr(colon + 1);
  if (value->empty()) *value = proc::NextToken(line);
  return true;
}

}  // namespace

uint64_t KernelDevToUser(uint64_t kdev) { return makedev(kdev >> 20, kdev & 0xfffff); }

Result<img::EpollFile> ParseEpollFdinfo(std::string_view text, std::vector<uint64_t>* target_devs) {
  auto head = STASIS_VALUE(proc::ParseFdInfo(text));
  img::EpollFile e;
  e.set_flags(head.flags);
  target_devs->clear();
  std::string_view line;
  while (proc::NextLine(text, &line)) {
    if (!line.starts_with("tfd:")) continue;
    if (static_cast<size_t>(e.targets_size()) >= kMaxTargets) return Corrupt("epoll fdinfo: too many targets");
    const std::string bad = "epoll fdinfo: bad target line \"" + std::string(line) + "\"";
    std::optional<uint64_t> tfd, events, data, ino, sdev;
    std::string_view rest = line, key, value;
    while (NextPair(rest, &key, &value)) {
      std::optional<uint64_t>* slot = key == "tfd" ? &tfd : key == "events" ? &events
                                      : key == "data" ? &data : key == "ino" ? &ino
                                      : key == "sdev" ? &sdev : nullptr;
      if (slot == nullptr) continue;     // pos:, and whatever later kernels add
      if (slot->has_value()) return Corrupt(bad);
      *slot = proc::ParseU64(value, key == "tfd" ? 10 : 16);
      if (!slot->has_value()) return Corrupt(bad);
    }
    if (!tfd || !events || !data || !ino || !sdev || *tfd > INT_MAX || *events > UINT32_MAX)
      return Corrupt(bad);
    img::EpollTarget* t = e.add_targets();
    t->set_fd(static_cast<uint32_t>(*tfd));
    t->set_events(static_cast<uint32_t>(*events));
    t->set_data(*data);
    t->set_inode(*ino);
    target_devs->push_back(*sdev);
  }
  return e;
}

const FileKind& EpollKind() {
  static const Epoll kind;
  return kind;
}

}  // namespace stasis::files
