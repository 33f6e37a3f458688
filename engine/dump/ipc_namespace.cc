#include "engine/dump/ipc_namespace.h"

#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>

#include <cstring>
#include <string>
#include <vector>

#include "engine/common/fd.h"

namespace stasis::dump {
namespace {

constexpr int kMsgCopy = 040000;   // MSG_COPY: read message N without removing it
constexpr size_t kMaxMessageBytes = 1u << 20;
constexpr size_t kMaxMessagesPerQueue = 1u << 16;

void FillPerm(const ipc_perm& p, int id, img::IpcPerm* out) {
  out->set_key(p.__key);
  out->set_id(id);
  out->set_uid(p.uid);
  out->set_gid(p.gid);
  out->set_cuid(p.cuid);
  out->set_cgid(p.cgid);
  out->set_mode(p.mode & 0777);
}

Status DumpShm(img::IpcNamespace* out) {
  shm_info info{};
  const int max_index = ::shmctl(0, SHM_INFO, reinterpret_cast<shmid_ds*>(&info));
  if (max_index < 0) return SysError("shmctl(SHM_INFO)");
  for (int i = 0; i <= max_index; ++i) {
    shmid_ds ds{};
    const int id = ::shmctl(i, SHM_STAT, &ds);
    if (id < 0) {
      if (errno == EINVAL || errno == EIDRM) continue;   // a free slot
      return SysError("shmctl(SHM_STAT) of slot " + std::to_string(i));
    }
    const std::string what = "SysV shm id " + std::to_string(id);
    if (ds.shm_perm.mode & SHM_DEST)
      return Unsupported(what + " was removed and lives on only in attached mappings: not supported yet");
    if (ds.shm_segsz > kMaxDumpedShmBytes)
      return Unsupported(what + ": " + std::to_string(ds.shm_segsz) + " bytes, more than the " +
                         std::to_string(kMaxDumpedShmBytes) + " supported so far");
    img::SysvShm* shm = out->add_shm();
    FillPerm(ds.shm_perm, id, shm->mutable_perm());
    shm->set_size(ds.shm_segsz);
    void* addr = ::shmat(id, nullptr, SHM_RDONLY);
    if (addr == reinterpret_cast<void*>(-1)) return SysError("shmat " + what);
    const auto* bytes = static_cast<const char*>(addr);
    size_t used = ds.shm_segsz;
    while (used > 0 && bytes[used - 1] == 0) --used;
    shm->set_contents(bytes, used);
    ::shmdt(addr);
  }
  return Status::Ok();
}

Status DumpSem(img::IpcNamespace* out) {
  seminfo info{};
  const int max_index = ::semctl(0, 0, SEM_INFO, &info);
  if (max_index < 0) return SysError("semctl(SEM_INFO)");
  for (int i = 0; i <= max_index; ++i) {
    semid_ds ds{};
    const int id = ::semctl(i, 0, SEM_STAT, &ds);
    if (id < 0) {
      if (errno == EINVAL || errno == EIDRM) continue;
      return SysError("semctl(SEM_STAT) of slot " + std::to_string(i));
    }
    img::SysvSem* sem = out->add_sem();
    FillPerm(ds.sem_perm, id, sem->mutable_perm());
    std::vector<unsigned short> values(ds.sem_nsems);
    if (!values.empty() && ::semctl(id, 0, GETALL, values.data()) < 0)
      return SysError("semctl(GETALL) of SysV semaphore set id " + std::to_string(id));
    for (unsigned short v : values) sem->add_values(v);
  }
  return Status::Ok();
}

Status DumpMsg(img::IpcNamespace* out) {
  msginfo info{};
  const int max_index = ::msgctl(0, MSG_INFO, reinterpret_cast<msqid_ds*>(&info));
  if (max_index < 0) return SysError("msgctl(MSG_INFO)");
  const size_t buf_size = std::min<size_t>(std::max<int>(info.msgmax, 8192), kMaxMessageBytes);
  std::vector<char> buf(sizeof(long) + buf_size);
  for (int i = 0; i <= max_index; ++i) {
    msqid_ds ds{};
    const int id = ::msgctl(i, MSG_STAT, &ds);
    if (id < 0) {
      if (errno == EINVAL || errno == EIDRM) continue;
      return SysError("msgctl(MSG_STAT) of slot " + std::to_string(i));
    }
    const std::string what = "SysV message queue id " + std::to_string(id);
    img::SysvMsgQueue* q = out->add_msg();
    FillPerm(ds.msg_perm, id, q->mutable_perm());
    q->set_qbytes(ds.msg_qbytes);
    if (ds.msg_qnum > kMaxMessagesPerQueue) return Unsupported(what + ": " + std::to_string(ds.msg_qnum) + " messages");
    for (size_t n = 0; n < ds.msg_qnum; ++n) {
      const ssize_t got = ::msgrcv(id, buf.data(), buf_size, static_cast<long>(n), IPC_NOWAIT | kMsgCopy);
      if (got < 0) {
        if (errno == ENOSYS) return Unsupported(what + ": this kernel has no msgrcv(MSG_COPY) (CONFIG_CHECKPOINT_RESTORE)");
        return SysError("msgrcv(MSG_COPY) message " + std::to_string(n) + " of " + what);
      }
      long type = 0;
      std::memcpy(&type, buf.data(), sizeof type);
      img::SysvMsg* m = q->add_messages();
      m->set_type(type);
      m->set_data(buf.data() + sizeof(long), static_cast<size_t>(got));
    }
  }
  return Status::Ok();
}

}  // namespace

Result<img::IpcNamespace> DumpIpcNamespace() {
  img::IpcNamespace out;
  STASIS_TRY(DumpShm(&out));
  STASIS_TRY(DumpSem(&out));
  STASIS_TRY(DumpMsg(&out));
  return out;
}

}  // namespace stasis::dump
