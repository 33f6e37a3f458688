#include "engine/restore/tcp_finish.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "engine/common/fd.h"
#include "engine/net/net_lock.h"
#include "engine/net/tcp_repair.h"

namespace stasis::restore {
namespace {

bool IsConnection(const img::FileEntry& file) {
  return file.has_inet_sk() && file.inet_sk().protocol() == IPPROTO_TCP &&
         file.inet_sk().state() == TCP_ESTABLISHED && file.inet_sk().has_tcp();
}

}  // namespace

Status FinishTcpConnections(const ImageSet& set, const RestorePlan& plan, CreatedTree& tree) {
  for (size_t i = 0; i < plan.processes.size() && i < tree.puppets().size(); ++i) {
    const Puppet& puppet = tree.puppets()[i];
    if (puppet.zombie || puppet.pid <= 0) continue;
    UniqueFd pidfd;
    for (const FdStep& s : plan.processes[i].fds) {
      // A connection shared by several fds or processes is opened once (kKind), then copied.
      if (s.source != FdSource::kKind || s.entry == nullptr || !IsConnection(*s.entry)) continue;
      const std::string what = "pid " + std::to_string(puppet.pid) + ": fd " + std::to_string(s.fd);
      if (!pidfd.valid()) {
        pidfd.reset(static_cast<int>(::syscall(SYS_pidfd_open, puppet.pid, 0)));
        if (!pidfd.valid()) return SysError("pidfd_open pid " + std::to_string(puppet.pid));
      }
      UniqueFd copy(static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd.get(), s.fd, 0)));
      if (!copy.valid()) return SysError(what + ": pidfd_getfd");
      STASIS_TRY(net::FinishTcpConnection(copy.get(), s.entry->inet_sk(), what));
    }
  }
  (void)set;
  return Status::Ok();
}

void UnlockTcpConnections(const ImageSet& set, Logger& log) {
  for (const auto& [id, file] : set.files) {
    if (!IsConnection(file)) continue;
    Status s = net::UnlockConnection(net::TupleOfImage(file.inet_sk()), "files.img: file id " + std::to_string(id));
    if (!s.ok()) log.Warn("%s", s.error().message().c_str());
  }
}

}  // namespace stasis::restore
