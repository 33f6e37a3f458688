// SysV IPC namespaces: a real round trip (objects made in a fresh ipc namespace, dumped,
// recreated in another fresh one, dumped again: the same) and validation of hostile images.
#include "engine/restore/ipc_namespace.h"

#include <gtest/gtest.h>
#include <google/protobuf/util/message_differencer.h>
#include <sched.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "engine/dump/ipc_namespace.h"

namespace stasis::restore {
namespace {

// Builds objects in the current (fresh) namespace; 0 on success, a step number otherwise.
int BuildObjects() {
  const int shm = shmget(0x5151, 3 * 4096 + 100, 0640 | IPC_CREAT);
  if (shm < 0) return 1;
  char* p = static_cast<char*>(shmat(shm, nullptr, 0));
  if (p == reinterpret_cast<char*>(-1)) return 2;
  std::memset(p, 0x5a, 5000);
  p[3 * 4096 + 50] = 7;
  shmdt(p);
  if (shmget(IPC_PRIVATE, 4096, 0600) < 0) return 3;   // all zero
  const int sem = semget(0x6161, 3, 0660 | IPC_CREAT);
  unsigned short values[3] = {0, 5, 32000};
  if (sem < 0 || semctl(sem, 0, SETALL, values) != 0) return 4;
  const int gap = msgget(IPC_PRIVATE, 0600);
  const int msg = msgget(0x7171, 0666 | IPC_CREAT);
  if (gap < 0 || msg < 0 || msgctl(gap, IPC_RMID, nullptr) != 0) return 5;   // ids need not be dense
  struct {
    long type;
    char text[16];
  } m{3, "first"};
  if (msgsnd(msg, &m, 6, 0) != 0) return 6;
  m.type = 1;
  std::strcpy(m.text, "second message");
  if (msgsnd(msg, &m, 15, 0) != 0) return 7;
  return 0;
}

int RoundTripInChild() {
  if (unshare(CLONE_NEWIPC) != 0) return 100;
  if (int step = BuildObjects(); step != 0) return step;
  auto before = dump::DumpIpcNamespace();
  if (!before.ok()) return 20;
  if (before->shm_size() != 2 || before->sem_size() != 1 || before->msg_size() != 1) return 21;
  if (before->msg(0).messages_size() != 2 || before->shm(1).contents().size() != 0) return 22;
  if (!CheckIpcNamespace(*before, "ipc-ns.img").ok()) return 23;
  if (unshare(CLONE_NEWIPC) != 0) return 24;
  Status s = RestoreIpcNamespace(*before);
  if (!s.ok()) {
    fprintf(stderr, "%s\n", s.error().message().c_str());
    return 25;
  }
  auto after = dump::DumpIpcNamespace();
  if (!after.ok()) return 26;
  if (!google::protobuf::util::MessageDifferencer::Equals(*before, *after)) {
    fprintf(stderr, "before:\n%s\nafter:\n%s\n", before->DebugString().c_str(), after->DebugString().c_str());
    return 27;
  }
  // Restoring the same objects again in the same namespace collides, with a clear error.
  if (RestoreIpcNamespace(*before).ok()) return 28;
  return 0;
}

TEST(IpcNamespace, DumpRestoreDumpIsTheSame) {
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) _exit(RoundTripInChild());
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 100) GTEST_SKIP() << "cannot create an ipc namespace here";
  EXPECT_EQ(WEXITSTATUS(status), 0) << "failed at step " << WEXITSTATUS(status);
}

img::IpcNamespace Sample() {
  img::IpcNamespace ns;
  img::SysvShm* shm = ns.add_shm();
  shm->mutable_perm()->set_id(5);
  shm->mutable_perm()->set_mode(0600);
  shm->set_size(4096);
  shm->set_contents("abc");
  img::SysvSem* sem = ns.add_sem();
  sem->mutable_perm()->set_id(5);   // ids are per kind
  sem->add_values(1);
  img::SysvMsgQueue* q = ns.add_msg();
  q->mutable_perm()->set_id(32768);
  img::SysvMsg* m = q->add_messages();
  m->set_type(1);
  m->set_data("x");
  return ns;
}

void ExpectCorrupt(const img::IpcNamespace& ns, const char* part) {
  Status s = CheckIpcNamespace(ns, "ipc-ns.img");
  ASSERT_FALSE(s.ok()) << "accepted: " << part;
  EXPECT_EQ(s.error().kind(), ErrorKind::kCorruption);
  EXPECT_NE(s.error().message().find(part), std::string::npos) << s.error().message();
}

TEST(CheckIpcNamespace, RefusesHostileImages) {
  EXPECT_TRUE(CheckIpcNamespace(Sample(), "ipc-ns.img").ok());
  { auto ns = Sample(); *ns.add_shm() = ns.shm(0); ExpectCorrupt(ns, "id used twice"); }
  { auto ns = Sample(); ns.mutable_shm(0)->mutable_perm()->set_id(-1); ExpectCorrupt(ns, "negative id"); }
  { auto ns = Sample(); ns.mutable_shm(0)->mutable_perm()->set_mode(04777); ExpectCorrupt(ns, "mode"); }
  { auto ns = Sample(); ns.mutable_shm(0)->set_size(0); ExpectCorrupt(ns, "size 0"); }
  { auto ns = Sample(); ns.mutable_shm(0)->set_size(2); ExpectCorrupt(ns, "more contents"); }
  { auto ns = Sample(); ns.mutable_shm(0)->set_size(1ull << 40); ExpectCorrupt(ns, "size"); }
  { auto ns = Sample(); ns.mutable_sem(0)->clear_values(); ExpectCorrupt(ns, "0 semaphores"); }
  { auto ns = Sample(); ns.mutable_sem(0)->set_values(0, 40000); ExpectCorrupt(ns, "SEMVMX"); }
  { auto ns = Sample(); ns.mutable_msg(0)->mutable_messages(0)->set_type(0); ExpectCorrupt(ns, "type 0"); }
}

}  // namespace
}  // namespace stasis::restore
