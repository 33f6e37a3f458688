#include "engine/restore/ipc_namespace.h"

#include <fcntl.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>

#include <cstring>
#include <set>
#include <vector>

#include "engine/common/fd.h"

namespace stasis::restore {
namespace {

constexpr uint64_t kMaxShmBytes = 8u << 20;        // what the dump stores at most
constexpr size_t kMaxSemsPerSet = 32000;           // SEMMSL_MAX
constexpr size_t kMaxMessages = 1u << 16;
constexpr size_t kMaxMessageBytes = 1u << 20;

Status CheckPerm(const img::IpcPerm& p, std::set<int32_t>* ids, const std::string& where) {
  if (p.id() < 0) return Corrupt(where + ": negative id");
  if (!ids->insert(p.id()).second) return Corrupt(where + ": id used twice");
  if (p.mode() & ~0777u) return Corrupt(where + ": mode " + std::to_string(p.mode()));
  return Status::Ok();
}

// The next object created in this namespace gets `id`.
Status SetNextId(const char* kind, int32_t id) {
  const std::string path = std::string("/proc/sys/kernel/") + kind + "_next_id";
  UniqueFd fd = STASIS_VALUE(OpenFile(path, O_WRONLY | O_CLOEXEC));
  const std::string text = std::to_string(id);
  return WriteAll(fd.get(), text.data(), text.size(), path);
}

Status ExpectId(int got, const img::IpcPerm& p, const std::string& what) {
  if (got < 0) return SysError("create " + what);
  if (got != p.id()) return Internal("create " + what + ": the kernel gave id " + std::to_string(got));
  return Status::Ok();
}

template <typename Ds>
void SetOwner(Ds& ds, const img::IpcPerm& p) {
  ds.uid = p.uid();
  ds.gid = p.gid();
  ds.mode = static_cast<unsigned short>(p.mode());
}

Status RestoreShm(const img::SysvShm& s) {
  const img::IpcPerm& p = s.perm();
  const std::string what = "SysV shm id " + std::to_string(p.id());
  STASIS_TRY(SetNextId("shm", p.id()));
  const int id = ::shmget(p.key(), s.size(), static_cast<int>(p.mode()) | IPC_CREAT | IPC_EXCL);
  STASIS_TRY(ExpectId(id, p, what));
  if (!s.contents().empty()) {
    void* addr = ::shmat(id, nullptr, 0);
    if (addr == reinterpret_cast<void*>(-1)) return SysError("shmat " + what);
    std::memcpy(addr, s.contents().data(), s.contents().size());
    ::shmdt(addr);
  }
  shmid_ds ds{};
  if (::shmctl(id, IPC_STAT, &ds) != 0) return SysError("shmctl(IPC_STAT) " + what);
  SetOwner(ds.shm_perm, p);
  if (::shmctl(id, IPC_SET, &ds) != 0) return SysError("shmctl(IPC_SET) " + what);
  return Status::Ok();
}

Status RestoreSem(const img::SysvSem& s) {
  const img::IpcPerm& p = s.perm();
  const std::string what = "SysV semaphore set id " + std::to_string(p.id());
  STASIS_TRY(SetNextId("sem", p.id()));
  const int id = ::semget(p.key(), s.values_size(), static_cast<int>(p.mode()) | IPC_CREAT | IPC_EXCL);
  STASIS_TRY(ExpectId(id, p, what));
  std::vector<unsigned short> values(s.values().begin(), s.values().end());
  if (!values.empty() && ::semctl(id, 0, SETALL, values.data()) != 0) return SysError("semctl(SETALL) " + what);
  semid_ds ds{};
  if (::semctl(id, 0, IPC_STAT, &ds) != 0) return SysError("semctl(IPC_STAT) " + what);
  SetOwner(ds.sem_perm, p);
  if (::semctl(id, 0, IPC_SET, &ds) != 0) return SysError("semctl(IPC_SET) " + what);
  return Status::Ok();
}

Status RestoreMsg(const img::SysvMsgQueue& q) {
  const img::IpcPerm& p = q.perm();
  const std::string what = "SysV message queue id " + std::to_string(p.id());
  STASIS_TRY(SetNextId("msg", p.id()));
  const int id = ::msgget(p.key(), static_cast<int>(p.mode()) | IPC_CREAT | IPC_EXCL);
  STASIS_TRY(ExpectId(id, p, what));
  msqid_ds ds{};
  if (::msgctl(id, IPC_STAT, &ds) != 0) return SysError("msgctl(IPC_STAT) " + what);
  uint64_t total = 0;
  for (const img::SysvMsg& m : q.messages()) total += m.data().size();
  const uint64_t default_qbytes = ds.msg_qbytes;
  if (q.qbytes() != 0) ds.msg_qbytes = q.qbytes();
  // Sending into the queue needs the permission bits we are about to set: root passes anyway.
  if (::msgctl(id, IPC_SET, &ds) != 0) {
    if (errno != EPERM || total > default_qbytes) return SysError("msgctl(IPC_SET) " + what);
    ds.msg_qbytes = default_qbytes;   // raising it needs CAP_SYS_RESOURCE
    if (::msgctl(id, IPC_SET, &ds) != 0) return SysError("msgctl(IPC_SET) " + what);
  }
  std::vector<char> buf;
  for (int n = 0; n < q.messages_size(); ++n) {
    const img::SysvMsg& m = q.messages(n);
    buf.resize(sizeof(long) + m.data().size());
    const long type = static_cast<long>(m.type());
    std::memcpy(buf.data(), &type, sizeof type);
    std::memcpy(buf.data() + sizeof type, m.data().data(), m.data().size());
    if (::msgsnd(id, buf.data(), m.data().size(), IPC_NOWAIT) != 0)
      return SysError("msgsnd message " + std::to_string(n) + " into " + what);
  }
  return Status::Ok();
}

}  // namespace

Status CheckIpcNamespace(const img::IpcNamespace& ns, const std::string& name) {
  if (static_cast<size_t>(ns.shm_size()) > kMaxIpcObjects || static_cast<size_t>(ns.sem_size()) > kMaxIpcObjects ||
      static_cast<size_t>(ns.msg_size()) > kMaxIpcObjects)
    return Corrupt(name + ": more SysV objects than a namespace can hold");
  std::set<int32_t> ids;
  for (const img::SysvShm& s : ns.shm()) {
    const std::string where = name + ": shm id " + std::to_string(s.perm().id());
    STASIS_TRY(CheckPerm(s.perm(), &ids, where));
    if (s.size() == 0 || s.size() > kMaxShmBytes) return Corrupt(where + ": size " + std::to_string(s.size()));
    if (s.contents().size() > s.size()) return Corrupt(where + ": more contents than the segment holds");
  }
  ids.clear();
  for (const img::SysvSem& s : ns.sem()) {
    const std::string where = name + ": semaphore set id " + std::to_string(s.perm().id());
    STASIS_TRY(CheckPerm(s.perm(), &ids, where));
    if (s.values_size() == 0 || static_cast<size_t>(s.values_size()) > kMaxSemsPerSet)
      return Corrupt(where + ": " + std::to_string(s.values_size()) + " semaphores");
    for (uint32_t v : s.values())
      if (v > 32767) return Corrupt(where + ": value " + std::to_string(v) + " above SEMVMX");
  }
  ids.clear();
  for (const img::SysvMsgQueue& q : ns.msg()) {
    const std::string where = name + ": message queue id " + std::to_string(q.perm().id());
    STASIS_TRY(CheckPerm(q.perm(), &ids, where));
    if (static_cast<size_t>(q.messages_size()) > kMaxMessages) return Corrupt(where + ": too many messages");
    for (const img::SysvMsg& m : q.messages())
      if (m.type() <= 0 || m.data().size() > kMaxMessageBytes)
        return Corrupt(where + ": message of type " + std::to_string(m.type()) + " and " +
                       std::to_string(m.data().size()) + " bytes");
  }
  return Status::Ok();
}

Status RestoreIpcNamespace(const img::IpcNamespace& ns) {
  for (const img::SysvShm& s : ns.shm()) STASIS_TRY(RestoreShm(s));
  for (const img::SysvSem& s : ns.sem()) STASIS_TRY(RestoreSem(s));
  for (const img::SysvMsgQueue& q : ns.msg()) STASIS_TRY(RestoreMsg(q));
  return Status::Ok();
}

}  // namespace stasis::restore
