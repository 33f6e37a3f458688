// zdtm-ns-init: the ns flavor's init. `zdtm-ns-init ROOT_PIDFILE TEST [ARGS...]`
//
// Unshares pid, net, ipc and uts namespaces and forks the namespace's init (pid 1 inside), which
// brings the loopback link up, starts TEST and, once TEST's first process has exited (the test
// has daemonized and written its pidfile), lets this launcher write the init's pid (as the
// runner sees it) to ROOT_PIDFILE and exit with TEST's status. The init is the root of the tree
// the runner dumps, as with CRIU's zdtm: it reaps every orphan of the namespace, forwards
// SIGTERM to the test (the pid in TEST's --pidfile, as in the host flavor where the runner
// signals only that process), and exits once nothing is left.
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>

namespace {

// Never runs: SIGTERM stays blocked and is read from a signalfd (the blocked mask never changes,
// unlike in sigwaitinfo, so the outside view of the init is the same whenever it is taken). A
// handler is installed anyway: the kernel drops signals a namespace init leaves at SIG_DFL.
void OnTerm(int) {}

bool LoopbackUp() {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return false;
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  bool ok = ioctl(s, SIOCGIFFLAGS, &ifr) == 0;
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
  ok = ok && ioctl(s, SIOCSIFFLAGS, &ifr) == 0;
  close(s);
  return ok;
}

// pid 1 of the new namespaces. Reports the first child's wait status through `report`.
[[noreturn]] void InitMain(int report, char** test_argv) {
  prctl(PR_SET_NAME, "zdtm-ns-init");
  setsid();
  struct sigaction sa {};
  sa.sa_handler = OnTerm;
  sigaction(SIGTERM, &sa, nullptr);
  sigset_t waited, old;
  sigemptyset(&waited);
  sigaddset(&waited, SIGTERM);
  sigaddset(&waited, SIGCHLD);
  sigprocmask(SIG_BLOCK, &waited, &old);
  if (!LoopbackUp()) std::fprintf(stderr, "zdtm-ns-init: cannot bring lo up: %s\n", std::strerror(errno));
  const pid_t test = fork();
  if (test == 0) {
    close(report);
    signal(SIGTERM, SIG_DFL);
    sigprocmask(SIG_SETMASK, &old, nullptr);
    execv(test_argv[0], test_argv);
    std::fprintf(stderr, "zdtm-ns-init: exec %s: %s\n", test_argv[0], std::strerror(errno));
    _exit(127);
  }
  int status = 127 << 8;
  if (test > 0) {
    while (waitpid(test, &status, 0) < 0 && errno == EINTR) {
    }
  }
  (void)!write(report, &status, sizeof status);
  close(report);
  pid_t daemon = -1;   // the test, as it wrote itself into its --pidfile (a pid inside)
  for (char** arg = test_argv; *arg != nullptr; ++arg) {
    if (std::strncmp(*arg, "--pidfile=", 10) != 0) continue;
    if (FILE* f = std::fopen(*arg + 10, "re")) {
      if (std::fscanf(f, "%d", &daemon) != 1) daemon = -1;
      std::fclose(f);
    }
  }
  const int sfd = signalfd(-1, &waited, SFD_CLOEXEC);
  if (sfd < 0) _exit(3);
  for (;;) {
    pid_t r;
    while ((r = waitpid(-1, &status, WNOHANG)) > 0) {
    }
    if (r < 0 && errno == ECHILD) _exit(0);
    signalfd_siginfo info;
    if (read(sfd, &info, sizeof info) == sizeof info && info.ssi_signo == SIGTERM)
      kill(daemon > 1 ? daemon : -1, SIGTERM);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: zdtm-ns-init ROOT_PIDFILE TEST [ARGS...]\n");
    return 2;
  }
  if (unshare(CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS) != 0) {
    std::fprintf(stderr, "zdtm-ns-init: unshare: %s\n", std::strerror(errno));
    return 2;
  }
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) return 2;
  const pid_t init = fork();
  if (init < 0) {
    std::fprintf(stderr, "zdtm-ns-init: fork: %s\n", std::strerror(errno));
    return 2;
  }
  if (init == 0) {
    close(pipefd[0]);
    InitMain(pipefd[1], argv + 2);
  }
  close(pipefd[1]);
  int status = 0;
  ssize_t n;
  while ((n = read(pipefd[0], &status, sizeof status)) < 0 && errno == EINTR) {
  }
  if (n != sizeof status) {
    std::fprintf(stderr, "zdtm-ns-init: the init died before the test started\n");
    return 2;
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  const std::string text = std::to_string(init) + "\n";
  FILE* f = std::fopen(argv[1], "w");
  if (f == nullptr || std::fputs(text.c_str(), f) < 0 || std::fclose(f) != 0) {
    std::fprintf(stderr, "zdtm-ns-init: write %s: %s\n", argv[1], std::strerror(errno));
    kill(init, SIGKILL);
    return 2;
  }
  return 0;
}
