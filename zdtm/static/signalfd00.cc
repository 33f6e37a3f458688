// A signalfd keeps its mask and flags; a signal pending on the blocked process before the dump
// is read from it after the restore.
#include <fcntl.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "zdtm/lib/zdtm.h"

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGUSR1);
  sigaddset(&mask, SIGRTMIN + 2);
  if (sigprocmask(SIG_BLOCK, &mask, nullptr) != 0) t.Fail("sigprocmask");
  int sfd = signalfd(-1, &mask, SFD_NONBLOCK);
  if (sfd < 0) t.Fail("signalfd: %s", std::strerror(errno));
  const int fl = fcntl(sfd, F_GETFL);

  t.Ready();
  t.WaitForTerm();

  if (fcntl(sfd, F_GETFL) != fl) t.Fail("flags %#o, were %#o", fcntl(sfd, F_GETFL), fl);
  signalfd_siginfo si;
  if (read(sfd, &si, sizeof si) != -1 || errno != EAGAIN) t.Fail("a signal is pending that was not sent");
  kill(getpid(), SIGRTMIN + 2);
  if (read(sfd, &si, sizeof si) != sizeof si || static_cast<int>(si.ssi_signo) != SIGRTMIN + 2)
    t.Fail("SIGRTMIN+2 not read from the signalfd");
  kill(getpid(), SIGUSR1);
  if (read(sfd, &si, sizeof si) != sizeof si || si.ssi_signo != SIGUSR1) t.Fail("SIGUSR1 not read (got %u)", si.ssi_signo);
  t.Pass();
}
