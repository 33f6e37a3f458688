#include "engine/dump/files_collector.h"

#include <fcntl.h>
#include <linux/kcmp.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "engine/dump/proc_files.h"
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

Status CollectFd(DumpContext& ctx, pid_t pid, int fd, ProcessImages* out) {
  const std::string what = "fd " + std::to_string(fd) + " of pid " + std::to_string(pid);
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
  if (link.ends_with(" (deleted)") || (S_ISREG(st.st_mode) && st.st_nlink == 0))
    return Unsupported(what + ": " + link + " was deleted while open (not supported yet)");

  bool is_new = false;
  const uint64_t id = STASIS_VALUE(FileIdFor(ctx, pid, fd, st, &is_new));
  img::FdEntry& e = out->fds.emplace_back();
  e.set_fd(static_cast<uint32_t>(fd));
  e.set_cloexec(info->cloexec());
  e.set_file_id(id);
  if (!is_new) return Status::Ok();

  const uint32_t flags = info->flags & ~static_cast<uint32_t>(O_CLOEXEC);
  img::FileEntry& f = ctx.files.emplace_back();
  f.set_id(id);
  if (S_ISCHR(st.st_mode) && IsTerminal(st.st_rdev)) {
    f.mutable_tty()->set_index(TtyIndex(st.st_rdev));
    f.mutable_tty()->set_flags(flags);
    return Status::Ok();
  }
  img::RegFile* reg = f.mutable_reg();
  reg->set_path(link);
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
  for (int fd : *fds) STASIS_TRY(CollectFd(ctx, p.pid, fd, out));
  ctx.log.Debug("pid %d: %zu fds", p.pid, out->fds.size());
  return Status::Ok();
}

}  // namespace stasis::dump
