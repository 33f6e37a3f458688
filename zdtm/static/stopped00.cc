// A SIGSTOPped child stays stopped across dump and restore (it does not run), and SIGCONT
// resumes it: it then keeps working and exits cleanly on SIGTERM.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "zdtm/lib/children.h"
#include "zdtm/lib/self_proc.h"
#include "zdtm/lib/zdtm.h"

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  const std::string progress = t.pidfile() + ".progress";
  pid_t child = zdtm::ForkChild([&] {
    // Counts while running; the counter file shows whether it ran while it should be stopped.
    long n = 0;
    while (!zdtm::Test::TermRequested()) {
      std::ofstream(progress, std::ios::trunc) << ++n << "\n";
      struct timespec ts = {0, 5 * 1000 * 1000};
      nanosleep(&ts, nullptr);
    }
    return 0;
  });
  if (child < 0) t.Fail("fork");
  struct timespec settle = {0, 50 * 1000 * 1000};
  nanosleep(&settle, nullptr);
  kill(child, SIGSTOP);
  int status;
  if (waitpid(child, &status, WUNTRACED) != child || !WIFSTOPPED(status)) t.Fail("child did not stop");
  auto read_progress = [&] {
    std::ifstream f(progress);
    long n = -1;
    f >> n;
    return n;
  };
  const long frozen_at = read_progress();

  t.Ready();
  t.WaitForTerm();

  auto state = zdtm::StatField(child, 3);
  if (!state || *state != "T") t.Fail("child is '%s', want stopped (T)", state ? state->c_str() : "gone");
  nanosleep(&settle, nullptr);
  if (read_progress() != frozen_at) t.Fail("the stopped child ran (progress %ld, was %ld)", read_progress(), frozen_at);
  kill(child, SIGCONT);
  if (waitpid(child, &status, WCONTINUED) != child || !WIFCONTINUED(status)) t.Fail("no continue report");
  for (int i = 0; i < 200 && read_progress() == frozen_at; ++i) nanosleep(&settle, nullptr);
  if (read_progress() == frozen_at) t.Fail("the child does not run after SIGCONT");
  std::string problems = zdtm::TermAndReap({child});
  if (!problems.empty()) t.Fail("%s", problems.c_str());
  t.Pass();
}
