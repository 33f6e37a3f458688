#include "engine/restore/puppet.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>

#include "engine/arch/x86_64/kernel_sigaction.h"
#include "engine/files/registry.h"
#include "engine/images/image_format.h"
#include "engine/restore/clone_args.h"
#include "engine/restore/control.h"

namespace stasis::restore {
namespace {

constexpr size_t kPage = images::kPageSize;

// Appends to a fixed buffer without allocating; truncates silently.
struct Text {
  char* buf;
  size_t cap;
  size_t len = 0;
  Text& Add(const char* s) {
    while (*s != '\0' && len + 1 < cap) buf[len++] = *s++;
    buf[len] = '\0';
    return *this;
  }
  Text& Num(uint64_t v) {
    char digits[24];
    int n = 0;
    do {
      digits[n++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0);
    while (n > 0 && len + 1 < cap) buf[len++] = digits[--n];
    buf[len] = '\0';
    return *this;
  }
};

// Fills in a failed reply; returns false so handlers can `return Fail(...)`.
bool Fail(PuppetReply* reply, int err, const char* what, const char* object = nullptr) {
  reply->error = err != 0 ? err : EIO;
  Text t{reply->what, sizeof reply->what};
  t.Add(what);
  if (object != nullptr) t.Add(" ").Add(object);
  return false;
}

using arch::KernelSigaction;

// The coordinator's handlers mean nothing here; the dumped ones are installed later.
void ResetSignalHandlers() {
  KernelSigaction dfl{};
  for (int sig = 1; sig <= 64; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    ::syscall(SYS_rt_sigaction, sig, &dfl, nullptr, 8);
  }
}

bool ApplySessionAndGroup(const ProcessPlan& p, PuppetReply* reply) {
  if (p.session == SessionStep::kNewSession && ::setsid() < 0) return Fail(reply, errno, "setsid");
  if (p.group == GroupStep::kOwnGroup && ::setpgid(0, 0) < 0) return Fail(reply, errno, "setpgid(0, 0)");
  if (p.group == GroupStep::kJoin && ::setpgid(0, static_cast<pid_t>(p.pgid)) < 0) {
    char num[24];
    Text{num, sizeof num}.Num(p.pgid);
    return Fail(reply, errno, "join process group", num);
  }
  return true;
}

// Moves `fd` to the dumped number with the dumped close-on-exec flag; consumes `fd`.
bool PlaceFd(int fd, const FdStep& s, PuppetReply* reply) {
  if (fd != s.fd) {
    int r = ::dup3(fd, s.fd, s.cloexec ? O_CLOEXEC : 0);
    int err = errno;
    ::close(fd);
    if (r < 0) return Fail(reply, err, "dup3 to fd", nullptr);
  } else if (::fcntl(fd, F_SETFD, s.cloexec ? FD_CLOEXEC : 0) < 0) {
    return Fail(reply, errno, "fcntl F_SETFD");
  }
  return true;
}

int GetFdFrom(pid_t pid, int fd) {
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) return -1;
  int got = static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd, fd, 0));
  int err = errno;
  ::close(pidfd);
  errno = err;
  return got;
}

// files::FdExchange over the shared table (see puppet.h).
class PuppetFdExchange final : public files::FdExchange {
 public:
  PuppetFdExchange(SharedFdTable* table, int floor) : table_(table), floor_(floor) {}

  Status Share(const files::ShareKey& key, UniqueFd fd) override {
    if (table_ == nullptr) return Internal("no fd exchange");
    if (Find(key) != nullptr) return Internal(files::DescribeKey(key) + " is already shared");
    if (table_->used >= kMaxSharedFds) return Unsupported("more than 8192 shared fds");
    if (key.kind.size() >= sizeof(SharedFdSlot{}.kind)) return Internal("kind name too long");
    // Above every dumped fd, so placing the later ones cannot close it.
    const int held = ::fcntl(fd.get(), F_DUPFD_CLOEXEC, floor_);
    if (held < 0) return SysError("keep " + files::DescribeKey(key));
    SharedFdSlot& slot = table_->slots[table_->used++];
    std::memset(&slot, 0, sizeof slot);
    std::memcpy(slot.kind, key.kind.data(), key.kind.size());
    slot.dev = key.dev;
    slot.inode = key.inode;
    slot.part = key.part;
    slot.pid = static_cast<int32_t>(::getpid());
    slot.fd = held;
    return Status::Ok();
  }

  Result<UniqueFd> Take(const files::ShareKey& key) override {
    SharedFdSlot* slot = Find(key);
    if (slot == nullptr) return Error(ErrorKind::kNotFound, files::DescribeKey(key) + " is not shared");
    int fd = slot->pid == static_cast<int32_t>(::getpid()) ? ::fcntl(slot->fd, F_DUPFD_CLOEXEC, 0)
                                                            : GetFdFrom(slot->pid, slot->fd);
    if (fd < 0) return SysError("take " + files::DescribeKey(key) + " from pid " + std::to_string(slot->pid));
    slot->taken = 1;
    return UniqueFd(fd);
  }

 private:
  SharedFdSlot* Find(const files::ShareKey& key) {
    if (table_ == nullptr) return nullptr;
    for (uint32_t i = 0; i < table_->used && i < kMaxSharedFds; ++i) {
      SharedFdSlot& s = table_->slots[i];
      if (s.taken == 0 && s.dev == key.dev && s.inode == key.inode && s.part == key.part &&
          std::string_view(s.kind) == key.kind)
        return &s;
    }
    return nullptr;
  }

  SharedFdTable* table_;
  int floor_;
};

// Closes every fd this process still holds for the exchange: the restored process must own
// exactly its dumped fds (an unclaimed pipe end would keep its reader from seeing EOF).
void CloseSharedFds(const PuppetContext& ctx) {
  if (ctx.exchange == nullptr) return;
  const auto self = static_cast<int32_t>(::getpid());
  for (uint32_t i = 0; i < ctx.exchange->used && i < kMaxSharedFds; ++i) {
    SharedFdSlot& s = ctx.exchange->slots[i];
    if (s.pid == self && s.fd >= 0) {
      ::close(s.fd);
      s.fd = -1;
      s.taken = 1;
    }
  }
}

// A file deleted while open: recreated at its path (or, if that is taken, at a unique name in
// the same directory) with the dumped contents, opened with the dumped flags, and unlinked.
// Returns the fd, or -1 with *reply filled in.
int OpenGhost(const PuppetContext& ctx, const FdStep& s, PuppetReply* reply) {
  const img::RegFile& reg = s.entry->reg();
  char path[kMaxPathLength + 64];
  Text name{path, sizeof path};
  name.Add(s.path.c_str());
  const mode_t mode = static_cast<mode_t>(reg.mode() & 07777);
  int creator = ::open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  for (uint64_t n = 0; creator < 0 && errno == EEXIST && n < 100; ++n) {
    Text retry{path, sizeof path};
    retry.Add(s.path.c_str()).Add(".stasis-ghost.").Num(static_cast<uint64_t>(::getpid())).Add(".").Num(n);
    creator = ::open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  }
  if (creator < 0) {
    Fail(reply, errno, "recreate deleted file", s.path.c_str());
    return -1;
  }
  int err = 0;
  for (const img::ObjectData& c : ctx.set->objects.Chunks(images::ImageKind::kGhostData, {reg.dev(), reg.inode()})) {
    size_t done = 0;
    while (err == 0 && done < c.data().size()) {
      ssize_t n = ::pwrite(creator, c.data().data() + done, c.data().size() - done, static_cast<off_t>(c.offset() + done));
      if (n < 0 && errno != EINTR) err = errno;
      if (n > 0) done += static_cast<size_t>(n);
    }
  }
  if (err == 0 && ::ftruncate(creator, static_cast<off_t>(reg.size())) != 0) err = errno;
  if (::fchmod(creator, mode) != 0 && err == 0) err = errno;   // the umask may have cut bits
  // When the path is taken, swap the two files for a moment so that the deleted file's last
  // name (what /proc shows) is the original path again, then put the other file back.
  const bool swapped = err == 0 && name.len != std::strlen(path) &&
                       ::syscall(SYS_renameat2, AT_FDCWD, path, AT_FDCWD, s.path.c_str(), RENAME_EXCHANGE) == 0;
  const char* open_path = swapped ? s.path.c_str() : path;
  int fd = err == 0 ? ::open(open_path, s.open_flags) : -1;
  if (fd < 0 && err == 0) err = errno;
  ::unlink(open_path);
  if (swapped) ::rename(path, s.path.c_str());
  ::close(creator);
  if (fd < 0) {
    Fail(reply, err, "recreate deleted file", s.path.c_str());
    return -1;
  }
  return fd;
}

bool OpenByKind(const PuppetContext& ctx, const ProcessPlan& p, const FdStep& s, PuppetReply* reply) {
  const files::FileKind* kind = s.entry != nullptr ? files::FindKindFor(*s.entry) : nullptr;
  if (kind == nullptr) return Fail(reply, EINVAL, "no module for this file");
  PuppetFdExchange exchange(ctx.exchange, p.control_fd_floor);
  files::FdsAtDumpedNumbers fds;
  files::OpenContext octx{ctx.set->objects, exchange, fds, &ctx.set->files};
  auto fd = kind->Open(*s.entry, octx);
  if (!fd.ok()) {
    // The coordinator appends strerror(error) itself: drop the copy the message ends with.
    std::string message = fd.error().message();
    const int e = fd.error().sys_errno();
    const std::string tail = std::string(": ") + std::strerror(e);
    if (e != 0 && message.size() > tail.size() && message.compare(message.size() - tail.size(), tail.size(), tail) == 0)
      message.resize(message.size() - tail.size());
    Text{reply->what, sizeof reply->what}.Add(message.c_str());
    reply->error = e != 0 ? e : EIO;
    return false;
  }
  return PlaceFd(fd->release(), s, reply);
}

bool RestoreFd(const PuppetContext& ctx, const ProcessPlan& p, const FdStep& s, PuppetReply* reply) {
  char what[64];
  Text t{what, sizeof what};
  switch (s.source) {
    case FdSource::kOpen: {
      int fd = s.ghost ? OpenGhost(ctx, s, reply) : ::open(s.path.c_str(), s.open_flags);
      if (fd < 0 && s.ghost) return false;
      if (fd < 0) return Fail(reply, errno, "open", s.path.c_str());
      if (s.pos != 0 && ::lseek(fd, static_cast<off_t>(s.pos), SEEK_SET) < 0 && errno != ESPIPE) {
        int err = errno;
        ::close(fd);
        return Fail(reply, err, "lseek", s.path.c_str());
      }
      return PlaceFd(fd, s, reply);
    }
    case FdSource::kDupLocal: {
      if (::dup3(s.from_fd, s.fd, s.cloexec ? O_CLOEXEC : 0) < 0) {
        t.Add("dup fd ").Num(static_cast<uint64_t>(s.from_fd)).Add(" to fd ").Num(static_cast<uint64_t>(s.fd));
        return Fail(reply, errno, what);
      }
      return true;
    }
    case FdSource::kFromPeer: {
      int fd = GetFdFrom(static_cast<pid_t>(s.peer_pid), s.from_fd);
      if (fd < 0) {
        t.Add("take fd ").Num(static_cast<uint64_t>(s.from_fd)).Add(" of pid ").Num(s.peer_pid);
        return Fail(reply, errno, what);
      }
      return PlaceFd(fd, s, reply);
    }
    case FdSource::kKind: return OpenByKind(ctx, p, s, reply);
    case FdSource::kTerminal: {
      if (ctx.coordinator_tty_fd < 0) return Fail(reply, ENOTTY, "--shell-job: stasis has no terminal");
      int fd = GetFdFrom(ctx.coordinator, ctx.coordinator_tty_fd);
      if (fd < 0) return Fail(reply, errno, "take the terminal of stasis");
      return PlaceFd(fd, s, reply);
    }
  }
  return Fail(reply, EINVAL, "unknown fd source");
}

bool Setup(const PuppetContext& ctx, int index, PuppetReply* reply) {
  const ProcessPlan& p = ctx.plan->processes[static_cast<size_t>(index)];
  const img::TaskCore& core = ctx.set->processes[static_cast<size_t>(index)].core;
  if (!ApplySessionAndGroup(p, reply)) return false;
  for (const FdStep& s : p.fds) {
    if (!RestoreFd(ctx, p, s, reply)) {
      // Name the fd: the message so far says what failed.
      char prefix[sizeof reply->what];
      std::memcpy(prefix, reply->what, sizeof prefix);
      Text t{reply->what, sizeof reply->what};
      t.Add("fd ").Num(static_cast<uint64_t>(s.fd)).Add(": ").Add(prefix);
      return false;
    }
  }
  if (!core.cwd().empty() && ::chdir(core.cwd().c_str()) < 0) return Fail(reply, errno, "chdir", core.cwd().c_str());
  ::umask(static_cast<mode_t>(core.umask()));
  return true;
}

[[noreturn]] void BecomeZombie(const PuppetContext& ctx, int index) {
  PuppetReply ignored{};
  const ProcessPlan& p = ctx.plan->processes[static_cast<size_t>(index)];
  ApplySessionAndGroup(p, &ignored);
  // A zombie shows its name forever; without one in the image, a forked child's best guess is
  // its parent's.
  const img::ProcessEntry& e = ctx.set->processes[static_cast<size_t>(index)].entry;
  const std::string& comm =
      !e.comm().empty() ? e.comm() : ctx.set->processes[static_cast<size_t>(p.parent)].core.comm();
  ::prctl(PR_SET_NAME, comm.c_str());
  const int status = e.exit_code();
  if ((status & 0x7f) == 0) ::_exit((status >> 8) & 0xff);
  const int sig = status & 0x7f;
  // Die by the signal without leaving a core file behind.
  rlimit no_core{0, 0};
  ::setrlimit(RLIMIT_CORE, &no_core);
  ::prctl(PR_SET_DUMPABLE, 0);
  uint64_t unblock = sig <= 64 ? 1ull << (sig - 1) : 0;
  ::syscall(SYS_rt_sigprocmask, SIG_UNBLOCK, &unblock, nullptr, 8);
  ::syscall(SYS_kill, ::syscall(SYS_getpid), sig);
  ::_exit(128 + sig);
}

bool SpawnChild(const PuppetContext& ctx, int index, int child, PuppetReply* reply, int* pass) {
  const ProcessPlan& p = ctx.plan->processes[static_cast<size_t>(index)];
  bool mine = false;
  for (int c : p.children) mine |= c == child;
  if (!mine) return Fail(reply, EINVAL, "spawn a process that is not my child");
  const ProcessImage& img = ctx.set->processes[static_cast<size_t>(child)];
  char what[48];
  Text{what, sizeof what}.Add("clone3 with pid ").Num(img.pid());

  int sv[2] = {-1, -1};
  if (!img.zombie() && ::socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) < 0)
    return Fail(reply, errno, "socketpair");
  long pid = CloneWithPid(static_cast<pid_t>(img.pid()), static_cast<int>(img.entry.exit_signal()));
  if (pid == 0) {
    if (img.zombie()) BecomeZombie(ctx, child);
    ::close(sv[0]);
    PuppetMain(ctx, child, sv[1], static_cast<pid_t>(ctx.set->processes[static_cast<size_t>(index)].pid()));
  }
  if (sv[1] >= 0) ::close(sv[1]);
  if (pid < 0) {
    if (sv[0] >= 0) ::close(sv[0]);
    return Fail(reply, static_cast<int>(-pid), what);
  }
  if (img.zombie()) {
    // Reply once it is really a zombie, without reaping it.
    siginfo_t info;
    while (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT | __WALL) < 0 && errno == EINTR) {
    }
  }
  reply->value = static_cast<uint64_t>(pid);
  *pass = sv[0];
  return true;
}

bool MapTrampoline(const ProcessPlan& p, PuppetReply* reply) {
  const size_t size = kTrampolinePages * kPage;
  int last_error = ENOMEM;
  for (uint64_t candidate : p.trampoline_candidates) {
    void* want = reinterpret_cast<void*>(candidate);
    void* got = ::mmap(want, size, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (got == MAP_FAILED) {
      last_error = errno;
      continue;
    }
    if (got != want) {   // a kernel without MAP_FIXED_NOREPLACE treats it as a hint
      ::munmap(got, size);
      continue;
    }
    auto* code = static_cast<unsigned char*>(got);
    std::memset(code, 0xcc, kPage);   // int3 around the one instruction anyone may run
    code[0] = 0x0f;                   // syscall
    code[1] = 0x05;
    if (::mprotect(got, kPage, PROT_READ | PROT_EXEC) < 0) return Fail(reply, errno, "mprotect trampoline");
    reply->value = candidate;
    return true;
  }
  return Fail(reply, last_error, "map trampoline: no candidate address is free");
}

}  // namespace

long CloneWithPid(pid_t pid, int exit_signal, uint64_t flags) {
  pid_t tid = pid;
  CloneArgs args;
  args.flags = flags;
  args.exit_signal = static_cast<uint64_t>(exit_signal);
  args.set_tid = reinterpret_cast<uint64_t>(&tid);
  args.set_tid_size = 1;
  long r = ::syscall(SYS_clone3, &args, sizeof args);
  return r < 0 ? -errno : r;
}

void PuppetMain(const PuppetContext& ctx, int index, int control_fd, pid_t parent) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(1);   // the parent died before PDEATHSIG was armed
  ResetSignalHandlers();

  const ProcessPlan& p = ctx.plan->processes[static_cast<size_t>(index)];
  int ctl = ::fcntl(control_fd, F_DUPFD, p.control_fd_floor);
  if (ctl < 0 && errno == EINVAL && p.control_fd_spare >= 0 && p.control_fd_spare != control_fd)
    ctl = ::dup2(control_fd, p.control_fd_spare);  // the floor is at RLIMIT_NOFILE
  if (ctl < 0) {
    PuppetReply reply{};
    Fail(&reply, errno, "move the control socket above the dumped fds");
    PuppetSend(control_fd, reply);
    ::_exit(1);
  }
  ::close(control_fd);
  // Nothing the coordinator had open belongs to the restored process.
  if (ctl > 0) ::syscall(SYS_close_range, 0u, static_cast<unsigned>(ctl - 1), 0u);
  ::syscall(SYS_close_range, static_cast<unsigned>(ctl + 1), ~0u, 0u);

  for (;;) {
    PuppetRequest request;
    if (!PuppetReceive(ctl, &request)) ::_exit(0);   // the coordinator gave up
    PuppetReply reply{};
    reply.control_fd = ctl;
    int pass = -1;
    switch (request.command) {
      case PuppetCommand::kSetup: Setup(ctx, index, &reply); break;
      case PuppetCommand::kSpawnChild: SpawnChild(ctx, index, request.child, &reply, &pass); break;
      case PuppetCommand::kMapTrampoline:
        // Every process's fds are in place by now: nothing is left to take.
        CloseSharedFds(ctx);
        MapTrampoline(p, &reply);
        break;
      default: Fail(&reply, EINVAL, "unknown command"); break;
    }
    if (!PuppetSend(ctl, reply, pass)) ::_exit(1);
    if (pass >= 0) ::close(pass);
  }
}

}  // namespace stasis::restore
