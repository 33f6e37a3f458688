// Starting, waiting for and cleaning up processes. zdtm-run is a child subreaper, so every
// process a test leaves behind (and every restored tree, once `stasis restore -d` exits) is
// reparented to it and can be waited for and killed.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace zdtm::runner {

struct SpawnSpec {
  std::vector<std::string> argv;
  std::string cwd;          // "" = inherit
  std::string output_path;  // stdout+stderr (appended); "" = /dev/null
  std::vector<std::string> env;  // full environment; empty = inherit
};

// fork+exec; returns the pid or -1 with *error.
pid_t Spawn(const SpawnSpec& spec, std::string* error);

// Waits for our child pid to exit, up to timeout_s. Returns true with *status when it exited;
// false on timeout. A pid that is not our child is polled via /proc (status -1).
bool WaitExit(pid_t pid, double timeout_s, int* status);

struct CommandResult {
  bool started = false;
  bool timed_out = false;
  int status = 0;
  double seconds = 0;
  std::string error;   // why it did not start
  std::string output;  // RunCapture only
};

// Runs a command to completion; on timeout kills it (and waits for it to vanish).
CommandResult RunCommand(const SpawnSpec& spec, double timeout_s);
// Same, capturing stdout (stderr goes to /dev/null); output capped at 1 MiB.
CommandResult RunCapture(const std::vector<std::string>& argv, double timeout_s);

std::string DescribeStatus(int status);

bool ProcessExists(pid_t pid);

// All live processes whose parent chain leads to `ancestor` (not including it), from /proc.
std::vector<pid_t> Descendants(pid_t ancestor);

// Reaps every exited child without blocking.
void ReapExitedChildren();

// Waits (reaping our zombies) until none of pids exists; false if some remain after timeout_s.
bool WaitVanish(const std::vector<pid_t>& pids, double timeout_s);

// SIGKILLs every descendant of this runner and waits for them to vanish. Returns the pids found.
std::vector<pid_t> KillAllDescendants();

double NowSeconds();

// Ctrl-C / SIGTERM / SIGHUP to the runner: waits give up, the current test is cleaned up (its
// processes killed) and no further test starts.
void InstallInterruptHandlers();
bool Interrupted();

}  // namespace zdtm::runner
