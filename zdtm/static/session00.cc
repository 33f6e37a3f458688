// Sessions and process groups survive: a child in its own group, a child that is a session
// leader with a grandchild in a third group of that session and another in the leader's group,
// and a grandchild that joined a group whose leader is not its parent.
#include <time.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "zdtm/lib/children.h"
#include "zdtm/lib/zdtm.h"

namespace {

// Waits for SIGTERM, then checks the expected sid/pgid and reaps `kids`.
int Hold(const zdtm::Test& t, pid_t sid, pid_t pgid, const std::vector<pid_t>& kids) {
  zdtm::MarkChildReady(t);
  while (!zdtm::Test::TermRequested()) {
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, nullptr);
  }
  std::string problems;
  if (getsid(0) != sid) problems += "sid " + std::to_string(getsid(0)) + ", want " + std::to_string(sid) + "; ";
  if (getpgid(0) != pgid) problems += "pgid " + std::to_string(getpgid(0)) + ", want " + std::to_string(pgid) + "; ";
  problems += zdtm::TermAndReap(kids);
  if (!problems.empty()) zdtm::ChildFail("%s", problems.c_str());
  return 0;
}

pid_t Spawn(const zdtm::Test& t, const std::function<int()>& body) {
  pid_t c = zdtm::ForkChild(body);
  std::string why;
  if (c < 0 || !zdtm::WaitChildReady(t, c, &why)) zdtm::ChildFail("set-up: %s", why.c_str());
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  const pid_t root = getpid();  // session leader and group leader (Init called setsid)
  std::vector<pid_t> kids;
  // A: own process group in the root's session.
  pid_t a = Spawn(t, [&] {
    if (setpgid(0, 0) != 0) zdtm::ChildFail("setpgid");
    return Hold(t, root, getpid(), {});
  });
  kids.push_back(a);
  // B: a new session; C: a new group inside it; D: stays in B's group.
  kids.push_back(Spawn(t, [&] {
    if (setsid() < 0) zdtm::ChildFail("setsid");
    const pid_t b = getpid();
    pid_t c = Spawn(t, [&] {
      if (setpgid(0, 0) != 0) zdtm::ChildFail("setpgid");
      return Hold(t, b, getpid(), {});
    });
    pid_t d = Spawn(t, [&] { return Hold(t, b, b, {}); });
    return Hold(t, b, b, {c, d});
  }));
  // E: in the root's group; F: E's child that joins A's group.
  kids.push_back(Spawn(t, [&] {
    pid_t f = Spawn(t, [&] {
      if (setpgid(0, a) != 0) zdtm::ChildFail("setpgid to A's group %d", a);
      return Hold(t, root, a, {});
    });
    return Hold(t, root, root, {f});
  }));

  t.Ready();
  t.WaitForTerm();

  if (getsid(0) != root || getpgid(0) != root) t.Fail("root sid/pgid %d/%d, want %d", getsid(0), getpgid(0), root);
  std::string problems = zdtm::TermAndReap(kids);
  if (!problems.empty()) t.Fail("%s", problems.c_str());
  t.Pass();
}
