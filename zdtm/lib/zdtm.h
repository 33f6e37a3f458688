// The zdtm test protocol, same as CRIU's zdtm:
//   TEST --pidfile=F.pid --outfile=F.out [--key=value ...]
// Init() forks: the launching process waits until the test is ready and exits; the test goes on in
// a new session. The test sets up its state, calls Ready() (writes the pidfile, after which the
// runner may dump and restore it any number of times), WaitForTerm(), checks its state and ends
// with Pass() or Fail(). Everything the test prints goes to the outfile; the runner passes a test
// whose outfile has a "PASS" line and no "FAIL" line.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <map>
#include <string>

namespace zdtm {

class Test {
 public:
  // Parses the options, opens the outfile on stdout and stderr, installs the SIGTERM handler and
  // daemonizes. Returns only in the daemon. Bad usage exits 2 with one line on stderr.
  static Test Init(int argc, char** argv);

  // Writes the pidfile (atomically): from now on the runner may dump this process.
  void Ready();

  // Sleeps until SIGTERM arrived. Threads that block in syscalls whose interruption the test
  // checks should call BlockTermInThisThread() so SIGTERM lands on the main thread.
  void WaitForTerm();
  static bool TermRequested();

  [[noreturn]] void Pass();
  [[noreturn]] void Fail(const char* fmt, ...) __attribute__((format(printf, 2, 3)));

  // --key=value options after the protocol's own; `fallback` when absent.
  std::string Option(const std::string& key, const std::string& fallback = "") const;
  const std::string& outfile() const { return outfile_; }
  const std::string& pidfile() const { return pidfile_; }

 private:
  std::string pidfile_;
  std::string outfile_;
  std::map<std::string, std::string> options_;
};

// Log line to the outfile (stderr), prefixed with the pid.
void Log(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

// For helper processes (children) of a test: writes "FAIL: ..." to the outfile and _exit(1)s.
[[noreturn]] void ChildFail(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

void BlockTermInThisThread();

}  // namespace zdtm
