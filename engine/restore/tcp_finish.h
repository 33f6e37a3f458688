// The restore's last word on established TCP connections (engine/net/tcp_repair.h,
// engine/net/net_lock.h): every restored connection stays in repair mode while the tree is
// built, leaves it together with the others right before the tree resumes, and the dump's
// network lock is lifted once the tree runs.
#pragma once

#include "engine/common/error.h"
#include "engine/common/log.h"
#include "engine/restore/image_set.h"
#include "engine/restore/plan.h"
#include "engine/restore/tree.h"

namespace stasis::restore {

// Takes each restored connection out of repair mode through our own copy of its fd
// (pidfd_getfd on the stopped puppet). Call after every process is ready, before ResumeTree.
Status FinishTcpConnections(const ImageSet& set, const RestorePlan& plan, CreatedTree& tree);

// Lets the peers' segments through again. Problems are logged: the tree already runs.
void UnlockTcpConnections(const ImageSet& set, Logger& log);

// Unlocks the connections of `set` when released or destroyed, whichever comes first: after a
// successful resume, or when a restore fails once processes exist.
class TcpLockRelease {
 public:
  TcpLockRelease(const ImageSet& set, Logger& log) : set_(set), log_(log) {}
  ~TcpLockRelease() { Release(); }
  TcpLockRelease(const TcpLockRelease&) = delete;
  TcpLockRelease& operator=(const TcpLockRelease&) = delete;
  void Release() {
    if (!done_) UnlockTcpConnections(set_, log_);
    done_ = true;
  }

 private:
  const ImageSet& set_;
  Logger& log_;
  bool done_ = false;
};

}  // namespace stasis::restore
