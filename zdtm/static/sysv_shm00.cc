// SysV shared memory segments of the test's own ipc namespace survive with their ids (the
// test keeps using the ids it got), keys, sizes, permissions and contents: a keyed segment
// with a pattern and a byte near its end, and an IPC_PRIVATE one that is all zeros. Neither
// is attached while the tree is dumped (sysv_shm01 covers attached segments).
#include <sys/ipc.h>
#include <sys/shm.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "zdtm/lib/pattern.h"
#include "zdtm/lib/zdtm.h"

namespace {

constexpr key_t kKey = 0x5a5a0001;
constexpr size_t kSize = 5 * 4096 + 123;

}  // namespace

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  const int keyed = shmget(kKey, kSize, 0640 | IPC_CREAT | IPC_EXCL);
  const int anon = shmget(IPC_PRIVATE, 8192, 0600);
  if (keyed < 0 || anon < 0) t.Fail("shmget: %s", std::strerror(errno));
  std::vector<unsigned char> pattern(kSize);
  zdtm::FillPattern(pattern.data(), 3 * 4096, 21);
  pattern[kSize - 2] = 0x77;
  void* p = shmat(keyed, nullptr, 0);
  if (p == reinterpret_cast<void*>(-1)) t.Fail("shmat: %s", std::strerror(errno));
  std::memcpy(p, pattern.data(), kSize);
  shmdt(p);

  t.Ready();
  t.WaitForTerm();

  if (shmget(kKey, 0, 0) != keyed) t.Fail("key %#x now names id %d, not %d", kKey, shmget(kKey, 0, 0), keyed);
  shmid_ds ds{};
  if (shmctl(keyed, IPC_STAT, &ds) != 0) t.Fail("IPC_STAT keyed id %d: %s", keyed, std::strerror(errno));
  if (ds.shm_segsz != kSize || (ds.shm_perm.mode & 0777) != 0640 || ds.shm_perm.__key != kKey)
    t.Fail("keyed segment: size %zu mode %o key %#x", static_cast<size_t>(ds.shm_segsz), ds.shm_perm.mode & 0777,
           ds.shm_perm.__key);
  p = shmat(keyed, nullptr, SHM_RDONLY);
  if (p == reinterpret_cast<void*>(-1)) t.Fail("shmat after restore: %s", std::strerror(errno));
  if (std::memcmp(p, pattern.data(), kSize) != 0) t.Fail("keyed segment contents changed");
  shmdt(p);
  if (shmctl(anon, IPC_STAT, &ds) != 0 || ds.shm_segsz != 8192 || (ds.shm_perm.mode & 0777) != 0600 ||
      ds.shm_perm.__key != IPC_PRIVATE)
    t.Fail("IPC_PRIVATE segment id %d lost or changed", anon);
  p = shmat(anon, nullptr, SHM_RDONLY);
  if (p == reinterpret_cast<void*>(-1)) t.Fail("shmat anon: %s", std::strerror(errno));
  for (size_t i = 0; i < 8192; ++i)
    if (static_cast<unsigned char*>(p)[i] != 0) t.Fail("IPC_PRIVATE segment byte %zu is not zero", i);
  t.Pass();
}
