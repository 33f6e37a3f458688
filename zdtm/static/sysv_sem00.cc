// SysV semaphore sets of the test's own ipc namespace survive with their ids, keys, modes and
// every semaphore's value; they still work (semop decrements, IPC_NOWAIT refuses below zero).
#include <sys/ipc.h>
#include <sys/sem.h>

#include <cerrno>
#include <cstring>

#include "zdtm/lib/zdtm.h"

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  constexpr key_t kKey = 0x5e5e0001;
  const int set = semget(kKey, 4, 0660 | IPC_CREAT | IPC_EXCL);
  const int priv = semget(IPC_PRIVATE, 1, 0600);
  if (set < 0 || priv < 0) t.Fail("semget: %s", std::strerror(errno));
  unsigned short values[4] = {0, 1, 7, 32767};
  if (semctl(set, 0, SETALL, values) != 0) t.Fail("SETALL: %s", std::strerror(errno));
  if (semctl(priv, 0, SETVAL, 3) != 0) t.Fail("SETVAL: %s", std::strerror(errno));

  t.Ready();
  t.WaitForTerm();

  if (semget(kKey, 0, 0) != set) t.Fail("key %#x now names id %d, not %d", kKey, semget(kKey, 0, 0), set);
  unsigned short got[4] = {};
  if (semctl(set, 0, GETALL, got) != 0) t.Fail("GETALL: %s", std::strerror(errno));
  for (int i = 0; i < 4; ++i)
    if (got[i] != values[i]) t.Fail("semaphore %d is %u, was %u", i, got[i], values[i]);
  semid_ds ds{};
  if (semctl(set, 0, IPC_STAT, &ds) != 0 || ds.sem_nsems != 4 || (ds.sem_perm.mode & 0777) != 0660)
    t.Fail("semaphore set changed: %lu semaphores, mode %o", static_cast<unsigned long>(ds.sem_nsems),
           ds.sem_perm.mode & 0777);
  if (semctl(priv, 0, GETVAL) != 3) t.Fail("IPC_PRIVATE semaphore is %d", semctl(priv, 0, GETVAL));
  sembuf down{2, -7, IPC_NOWAIT};
  if (semop(set, &down, 1) != 0) t.Fail("semop down by 7: %s", std::strerror(errno));
  sembuf again{2, -1, IPC_NOWAIT};
  if (semop(set, &again, 1) == 0 || errno != EAGAIN) t.Fail("semop went below zero");
  t.Pass();
}
