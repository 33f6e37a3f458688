// Attached SysV shm segments: a keyed segment attached twice (read-write, and read-only at
// another address) with part of the first attachment made read-only by mprotect, and an
// IPC_PRIVATE segment attached once. After restore each attachment is at its address with its
// protections, shows the segment's contents, and the two attachments of one segment are still
// the same memory (a write through one is seen through the other and through a new shmat).
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <unistd.h>

#include <cstring>

#include "zdtm/lib/pattern.h"
#include "zdtm/lib/self_proc.h"
#include "zdtm/lib/zdtm.h"

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  const size_t kSize = 5 * 4096 + 123, kPriv = 3 * 4096;
  const int keyed = shmget(0x5a5a0000 + (getpid() & 0xffff), kSize, IPC_CREAT | IPC_EXCL | 0600);
  const int priv = shmget(IPC_PRIVATE, kPriv, IPC_CREAT | 0600);
  if (keyed < 0 || priv < 0) t.Fail("shmget: %m");
  auto* rw = static_cast<unsigned char*>(shmat(keyed, nullptr, 0));
  auto* ro = static_cast<unsigned char*>(shmat(keyed, nullptr, SHM_RDONLY));
  auto* pm = static_cast<unsigned char*>(shmat(priv, nullptr, 0));
  if (rw == reinterpret_cast<void*>(-1) || ro == reinterpret_cast<void*>(-1) || pm == reinterpret_cast<void*>(-1))
    t.Fail("shmat: %m");
  zdtm::FillPattern(rw, kSize, 71);
  std::memset(pm, 0, kPriv);
  pm[kPriv - 1] = 0xee;
  if (mprotect(rw + 4096, 4096, PROT_READ) != 0) t.Fail("mprotect: %m");
  // The kernel counts mappings (VMAs), so the mprotect split counts too.
  shmid_ds before{};
  if (shmctl(keyed, IPC_STAT, &before) != 0) t.Fail("IPC_STAT: %m");

  t.Ready();
  t.WaitForTerm();

  if (zdtm::FindPatternMismatch(rw, kSize, 71) >= 0) t.Fail("the read-write attachment lost its contents");
  if (zdtm::FindPatternMismatch(ro, kSize, 71) >= 0) t.Fail("the read-only attachment lost its contents");
  if (pm[kPriv - 1] != 0xee || pm[0] != 0) t.Fail("the private segment lost its contents");
  auto m = zdtm::FindMapping(rw + 4096);
  if (!m || m->perms.substr(0, 3) != "r--") t.Fail("the mprotect'ed page of the attachment is %s", m ? m->perms.c_str() : "unmapped");
  auto r = zdtm::FindMapping(ro);
  if (!r || r->perms.substr(0, 2) != "r-") t.Fail("the read-only attachment is %s", r ? r->perms.c_str() : "unmapped");
  shmid_ds ds{};
  if (shmctl(keyed, IPC_STAT, &ds) != 0 || ds.shm_nattch != before.shm_nattch)
    t.Fail("nattch %lu, was %lu", static_cast<unsigned long>(ds.shm_nattch), static_cast<unsigned long>(before.shm_nattch));
  rw[0] = 0x42;
  pm[1] = 0x43;
  if (ro[0] != 0x42) t.Fail("the two attachments are no longer the same segment");
  auto* again = static_cast<unsigned char*>(shmat(keyed, nullptr, SHM_RDONLY));
  auto* again_priv = static_cast<unsigned char*>(shmat(priv, nullptr, SHM_RDONLY));
  if (again == reinterpret_cast<void*>(-1) || again[0] != 0x42) t.Fail("the restored attachment is not the segment");
  if (again_priv == reinterpret_cast<void*>(-1) || again_priv[1] != 0x43) t.Fail("the private attachment is not its segment");
  shmctl(keyed, IPC_RMID, nullptr);
  shmctl(priv, IPC_RMID, nullptr);
  t.Pass();
}
