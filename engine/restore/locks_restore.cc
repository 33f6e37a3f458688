#include "engine/restore/locks_restore.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/syscall.h>

#include <string>

namespace stasis::restore {
namespace {

constexpr int kFOfdSetlk = 37;   // F_OFD_SETLK

// The kernel's struct flock on x86-64.
struct KernelFlock {
  int16_t type;
  int16_t whence;
  int32_t pad0;
  int64_t start;
  int64_t len;     // 0: to the end of the file
  int32_t pid;
  int32_t pad1;
};
static_assert(sizeof(KernelFlock) == 32);

const char* KindName(img::LockKind kind) {
  switch (kind) {
    case img::LOCK_FLOCK: return "flock";
    case img::LOCK_POSIX: return "POSIX";
    case img::LOCK_OFD: return "OFD";
    default: return "unknown";
  }
}

Status TakeLock(Target& t, const img::FileLock& l) {
  const std::string what = t.who() + ": fd " + std::to_string(l.fd()) + ": " + (l.write() ? "write " : "read ") +
                           KindName(l.kind()) + " lock";
  if (l.kind() == img::LOCK_FLOCK) {
    // Non-blocking: a conflict means the lock cannot be as it was; say so rather than hang.
    STASIS_TRY_CTX(t.main().Checked("flock", SYS_flock, l.fd(), (l.write() ? LOCK_EX : LOCK_SH) | LOCK_NB), what);
    return Status::Ok();
  }
  KernelFlock fl{};
  fl.type = l.write() ? F_WRLCK : F_RDLCK;
  fl.whence = SEEK_SET;
  fl.start = static_cast<int64_t>(l.start());
  fl.len = l.to_eof() ? 0 : static_cast<int64_t>(l.end() - l.start() + 1);
  const uint64_t addr = STASIS_VALUE(t.Put(0, &fl, sizeof fl));
  const uint64_t cmd = l.kind() == img::LOCK_OFD ? kFOfdSetlk : F_SETLK;
  STASIS_TRY_CTX(t.main().Checked("fcntl(F_SETLK)", SYS_fcntl, l.fd(), cmd, addr), what);
  return Status::Ok();
}

}  // namespace

Status RestoreFileLocks(const RestoreContext& ctx, Target& t) {
  int taken = 0;
  for (const img::FileLock& l : ctx.set->file_locks) {
    if (l.pid() != static_cast<uint32_t>(t.image().pid())) continue;
    STASIS_TRY(TakeLock(t, l));
    ++taken;
  }
  if (taken != 0) ctx.log->Debug("%s: %d file locks taken", t.who().c_str(), taken);
  return Status::Ok();
}

}  // namespace stasis::restore
