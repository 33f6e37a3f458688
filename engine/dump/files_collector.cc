#include "engine/dump/files_collector.h"

#include <fcntl.h>
#include <linux/kcmp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "engine/common/fd.h"
#include "engine/dump/proc_files.h"
#include "engine/images/image_format.h"
#include "engine/files/registry.h"
#include "engine/net/net_lock.h"
#include "engine/net/socket_kinds.h"
#include "engine/net/tcp_repair.h"
#include "engine/proc/fdinfo.h"

namespace stasis::dump {
namespace {

constexpr unsigned kPtsMajorFirst = 136;   // UNIX98 pty slaves: majors 136..143
constexpr unsigned kPtsMajorLast = 143;
constexpr unsigned kTtyMajor = 4;          // virtual consoles and serial ports
constexpr unsigned kTtyAuxMajor = 5;       // 5:0 /dev/tty, 5:1 /dev/console, 5:2 /dev/ptmx

bool IsTerminal(dev_t rdev) {
  const unsigned maj = major(rdev), min = minor(rdev);
  return (maj >= kPtsMajorFirst && maj <= kPtsMajorLast) || maj == kTtyMajor ||
         (maj == kTtyAuxMajor && min <= 1);
}

bool IsPtyMaster(dev_t rdev) { return major(rdev) == kTtyAuxMajor && minor(rdev) == 2; }

uint32_t TtyIndex(dev_t rdev) {
  const unsigned maj = major(rdev);
  if (maj >= kPtsMajorFirst && maj <= kPtsMajorLast) return (maj - kPtsMajorFirst) * 256 + minor(rdev);
  return minor(rdev);
}

// True if (pid, fd) refers to the same open file description as an fd already seen.
Result<bool> SameDescription(pid_t pid, int fd, const OpenFileSeen& seen) {
  long r = ::syscall(SYS_kcmp, seen.pid, pid, KCMP_FILE, seen.fd, fd);
  if (r < 0) {
    if (errno == ENOSYS) return Unsupported("kcmp() is not available: cannot tell shared open files apart");
    return SysError("kcmp(pid " + std::to_string(seen.pid) + " fd " + std::to_string(seen.fd) + ", pid " +
                    std::to_string(pid) + " fd " + std::to_string(fd) + ")");
  }
  return r == 0;
}

// The FileEntry id for this descriptor: an existing one if the description is shared.
Result<uint64_t> FileIdFor(DumpContext& ctx, pid_t pid, int fd, const struct stat& st, bool* is_new) {
  auto& candidates = ctx.files_by_inode[{st.st_dev, st.st_ino}];
  for (const OpenFileSeen& seen : candidates) {
    if (STASIS_VALUE(SameDescription(pid, fd, seen))) {
      *is_new = false;
      return seen.file_id;
    }
  }
  *is_new = true;
  const uint64_t id = ctx.next_file_id++;
  candidates.push_back({pid, fd, id});
  return id;
}

constexpr std::string_view kDeletedSuffix = " (deleted)";
// Files deleted while open are dumped whole; beyond this the images would balloon.
constexpr uint64_t kMaxGhostBytes = 16u << 20;

// The contents of a file deleted while open, read through a new read-only open of the fd's
// /proc link (the fd itself may be write-only).
Status CollectGhostData(DumpContext& ctx, const files::OpenFd& f, const struct stat& st) {
  const std::string link = "/proc/" + std::to_string(f.pid) + "/fd/" + std::to_string(f.fd);
  auto reader = OpenFile(link, O_RDONLY | O_CLOEXEC);
  if (!reader.ok()) return std::move(reader.error().Context(f.Describe()));
  std::string bytes(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < bytes.size()) {
    ssize_t n = ::pread(reader->get(), bytes.data() + got, bytes.size() - got, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return SysError(f.Describe() + ": read the deleted file's contents");
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  bytes.resize(got);
  ctx.objects.AddData(images::ImageKind::kGhostData, {st.st_dev, st.st_ino}, 0, bytes);
  return Status::Ok();
}

// A TCP socket past connect()/accept(): one that Collect puts in TCP_REPAIR mode.
bool IsTcpConnection(int fd) {
  int protocol = 0;
  socklen_t len = sizeof protocol;
  if (::getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &protocol, &len) != 0 || protocol != IPPROTO_TCP) return false;
  tcp_info info{};
  len = sizeof info;
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return false;
  return info.tcpi_state != TCP_LISTEN && info.tcpi_state != TCP_CLOSE;
}

// An fd handled by one of the per-class modules (engine/files, engine/net).
Status CollectKindFd(DumpContext& ctx, const files::FileKind& kind, const files::OpenFd& f,
                     const proc::FdInfo& info, ProcessImages* out) {
  bool is_new = false;
  const uint64_t id = STASIS_VALUE(FileIdFor(ctx, f.pid, f.fd, f.st, &is_new));
  img::FdEntry& e = out->fds.emplace_back();
  e.set_fd(static_cast<uint32_t>(f.fd));
  e.set_cloexec(info.cloexec());
  e.set_file_id(id);
  if (!is_new) return Status::Ok();
  const bool tcp_connection = &kind == &net::InetSocketKind() && IsTcpConnection(f.local_fd.get());
  if (tcp_connection && !ctx.options.tcp_established)
    return InvalidArg(f.Describe() + " is an established TCP connection: use --tcp-established");
  if (tcp_connection) {
    // Before repair mode: from now until the restored socket owns the connection the peer's
    // segments are dropped instead of being answered with RST (engine/net/net_lock.h).
    // Without the lock this is no checkpoint at all: what the peer sends while the socket is
    // read is acknowledged by the kernel and then lost with the dumped process. So it is an
    // error (the tree resumes unharmed), not a warning.
    auto tuple = net::TupleOfSocket(f.local_fd.get(), f.Describe());
    Status locked = tuple.ok() ? net::LockConnection(*tuple, f.Describe()) : Status(std::move(tuple).error());
    if (!locked.ok())
      return std::move(locked).error().Context("cannot hold back the peer of an established TCP connection");
  }
  img::FileEntry entry;
  entry.set_id(id);
  Status collected = kind.Collect(f, &entry, ctx.objects);
  if (!collected.ok() && tcp_connection) {
    // Collect gave the socket back out of repair mode; its peer may talk to it again.
    auto tuple = net::TupleOfSocket(f.local_fd.get(), f.Describe());
    if (tuple.ok()) (void)net::UnlockConnection(*tuple, f.Describe());
  }
  STASIS_TRY(collected);
  if (tcp_connection) {
    int copy = ::fcntl(f.local_fd.get(), F_DUPFD_CLOEXEC, 0);
    if (copy < 0) return SysError(f.Describe() + ": keep a copy of the TCP socket");
    ctx.tcp_in_repair.emplace_back(copy);
  }
  ctx.files.push_back(std::move(entry));
  return Status::Ok();
}

Status CollectFd(DumpContext& ctx, pid_t pid, int pidfd, int fd, ProcessImages* out) {
  const std::string what = "fd " + std::to_string(fd) + " of pid " + std::to_string(pid);
  const files::OpenFd f = STASIS_VALUE(files::ReadOpenFd(pid, pidfd, fd));
  if (const files::FileKind* kind = files::FindKindFor(f)) return CollectKindFd(ctx, *kind, f, f.head, out);
  const std::string fd_path = ProcPath(pid, "fd/" + std::to_string(fd));
  std::string link = STASIS_VALUE_CTX(ReadLink(fd_path), what);
  std::string info_text = STASIS_VALUE_CTX(ReadProc(pid, "fdinfo/" + std::to_string(fd)), what);
  auto info = proc::ParseFdInfo(info_text);
  if (!info.ok()) return std::move(info.error().Context(ProcPath(pid, "fdinfo/" + std::to_string(fd))));
  struct stat st;
  if (::stat(fd_path.c_str(), &st) != 0) return SysError("stat " + fd_path + " (" + link + ")").Context(what);

  const bool by_path = link.starts_with("/");
  if (!by_path || S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))
    return Unsupported(what + ": " + link + " is not supported yet");
  if (S_ISCHR(st.st_mode) && IsPtyMaster(st.st_rdev))
    return Unsupported(what + ": a pseudo-terminal master (" + link + ") is not supported yet");
  if (S_ISCHR(st.st_mode) && IsTerminal(st.st_rdev) && !ctx.options.shell_job)
    return InvalidArg(what + " is a terminal (" + link + "): use --shell-job");
  const bool ghost = S_ISREG(st.st_mode) && st.st_nlink == 0;
  if (!ghost && link.ends_with(" (deleted)"))
    return Unsupported(what + ": " + link + " was deleted while open (only regular files can be restored so)");
  if (ghost && st.st_size > static_cast<off_t>(kMaxGhostBytes))
    return Unsupported(what + ": " + link + " was deleted while open and holds " + std::to_string(st.st_size) +
                       " bytes; at most " + std::to_string(kMaxGhostBytes) + " are dumped");

  bool is_new = false;
  const uint64_t id = STASIS_VALUE(FileIdFor(ctx, pid, fd, st, &is_new));
  img::FdEntry& e = out->fds.emplace_back();
  e.set_fd(static_cast<uint32_t>(fd));
  e.set_cloexec(info->cloexec());
  e.set_file_id(id);
  if (!is_new) return Status::Ok();

  const uint32_t flags = info->flags & ~static_cast<uint32_t>(O_CLOEXEC);
  img::FileEntry& file = ctx.files.emplace_back();
  file.set_id(id);
  if (S_ISCHR(st.st_mode) && IsTerminal(st.st_rdev)) {
    file.mutable_tty()->set_index(TtyIndex(st.st_rdev));
    file.mutable_tty()->set_flags(flags);
    return Status::Ok();
  }
  img::RegFile* reg = file.mutable_reg();
  reg->set_path(ghost ? link.substr(0, link.size() - kDeletedSuffix.size()) : link);
  if (ghost) {
    reg->set_ghost(true);
    if (ctx.objects.FirstSight("ghost", {st.st_dev, st.st_ino}))
      STASIS_TRY(CollectGhostData(ctx, f, st));
  }
  reg->set_flags(flags);
  reg->set_pos(info->pos);
  reg->set_dev(st.st_dev);
  reg->set_inode(st.st_ino);
  reg->set_size(static_cast<uint64_t>(st.st_size));
  reg->set_mode(st.st_mode);
  return Status::Ok();
}

}  // namespace

Status CollectFiles(DumpContext& ctx, const FrozenProcess& p, ProcessImages* out) {
  auto fds = ListNumericDir(ProcPath(p.pid, "fd"));
  if (!fds.ok()) return std::move(fds.error().Context("pid " + std::to_string(p.pid)));
  const int raw_pidfd = static_cast<int>(::syscall(SYS_pidfd_open, p.pid, 0));
  if (raw_pidfd < 0) return SysError("pidfd_open pid " + std::to_string(p.pid));
  const UniqueFd pidfd(raw_pidfd);
  for (int fd : *fds) STASIS_TRY(CollectFd(ctx, p.pid, pidfd.get(), fd, out));
  ctx.log.Debug("pid %d: %zu fds", p.pid, out->fds.size());
  return Status::Ok();
}

}  // namespace stasis::dump
