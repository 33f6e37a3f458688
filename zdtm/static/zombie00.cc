// Unreaped children stay zombies across dump and restore, with their exit status: one exited
// with a code, one killed by a signal. The parent reaps them afterwards and sees exactly that.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtm/lib/children.h"
#include "zdtm/lib/self_proc.h"
#include "zdtm/lib/zdtm.h"

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  pid_t exited = zdtm::ForkChild([] { return 42; });
  pid_t killed = zdtm::ForkChild([] {
    signal(SIGUSR2, SIG_DFL);
    raise(SIGUSR2);
    return 0;
  });
  if (exited < 0 || killed < 0) t.Fail("fork");
  if (!zdtm::WaitForState(exited, 'Z') || !zdtm::WaitForState(killed, 'Z')) t.Fail("children did not become zombies");

  t.Ready();
  t.WaitForTerm();

  for (pid_t z : {exited, killed}) {
    auto state = zdtm::StatField(z, 3);
    if (!state || *state != "Z") t.Fail("child %d is '%s', want a zombie", z, state ? state->c_str() : "gone");
  }
  siginfo_t info = {};
  if (waitid(P_PID, exited, &info, WEXITED | WNOWAIT) != 0 || info.si_code != CLD_EXITED || info.si_status != 42)
    t.Fail("waitid(exited): code %d status %d, want CLD_EXITED 42", info.si_code, info.si_status);
  int status;
  if (waitpid(exited, &status, 0) != exited || !WIFEXITED(status) || WEXITSTATUS(status) != 42)
    t.Fail("waitpid(exited) status %#x, want exit 42", status);
  if (waitpid(killed, &status, 0) != killed || !WIFSIGNALED(status) || WTERMSIG(status) != SIGUSR2)
    t.Fail("waitpid(killed) status %#x, want killed by SIGUSR2", status);
  t.Pass();
}
