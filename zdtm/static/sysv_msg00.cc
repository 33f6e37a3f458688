// SysV message queues of the test's own ipc namespace survive with their ids, keys, modes and
// messages: types, bytes (an empty one and a binary one included) and queue order, so
// receiving by type and in order gives what was sent.
#include <sys/ipc.h>
#include <sys/msg.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "zdtm/lib/zdtm.h"

namespace {

struct Msg {
  long type;
  char text[512];
};

}  // namespace

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  constexpr key_t kKey = 0x3e3e0001;
  const int q = msgget(kKey, 0620 | IPC_CREAT | IPC_EXCL);
  const int empty = msgget(IPC_PRIVATE, 0600);
  if (q < 0 || empty < 0) t.Fail("msgget: %s", std::strerror(errno));
  const struct {
    long type;
    std::string text;
  } sent[] = {{5, "first"}, {2, ""}, {5, std::string("bin\0ary\xff", 8)}, {9, std::string(400, 'z')}, {2, "last"}};
  for (const auto& s : sent) {
    Msg m{s.type, {}};
    std::memcpy(m.text, s.text.data(), s.text.size());
    if (msgsnd(q, &m, s.text.size(), IPC_NOWAIT) != 0) t.Fail("msgsnd: %s", std::strerror(errno));
  }

  t.Ready();
  t.WaitForTerm();

  if (msgget(kKey, 0) != q) t.Fail("key %#x now names id %d, not %d", kKey, msgget(kKey, 0), q);
  msqid_ds ds{};
  if (msgctl(q, IPC_STAT, &ds) != 0 || ds.msg_qnum != 5 || (ds.msg_perm.mode & 0777) != 0620)
    t.Fail("queue changed: %lu messages, mode %o", static_cast<unsigned long>(ds.msg_qnum), ds.msg_perm.mode & 0777);
  Msg m{};
  // By type first: the first message of type 9.
  ssize_t n = msgrcv(q, &m, sizeof m.text, 9, IPC_NOWAIT);
  if (n != 400 || m.type != 9 || std::string(m.text, 400) != sent[3].text) t.Fail("message of type 9: %zd bytes", n);
  const int order[] = {0, 1, 2, 4};
  for (int i : order) {
    n = msgrcv(q, &m, sizeof m.text, 0, IPC_NOWAIT);
    if (n < 0 || m.type != sent[i].type || std::string(m.text, static_cast<size_t>(n)) != sent[i].text)
      t.Fail("message %d: type %ld, %zd bytes (%s)", i, m.type, n, n < 0 ? std::strerror(errno) : "wrong bytes");
  }
  if (msgrcv(q, &m, sizeof m.text, 0, IPC_NOWAIT) >= 0) t.Fail("an extra message appeared");
  if (msgctl(empty, IPC_STAT, &ds) != 0 || ds.msg_qnum != 0) t.Fail("the empty IPC_PRIVATE queue id %d is lost", empty);
  t.Pass();
}
