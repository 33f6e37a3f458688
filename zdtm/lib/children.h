// Helpers for tests that build process trees. Children talk to their parent only through exit
// statuses and marker files next to the pidfile: no pipes or shared memory, which are other
// tests' subjects (issue 3).
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "zdtm/lib/zdtm.h"

namespace zdtm {

// Forks a helper that runs body() and _exit()s with its return value. The helper inherits the
// SIGTERM handler, so it can WaitForTerm() like the test itself.
pid_t ForkChild(const std::function<int()>& body);

// A child announces it finished its set-up; the parent waits for that (or the child's death).
void MarkChildReady(const Test& t);
// Returns false (and why) if the child died or did not become ready within timeout_ms.
bool WaitChildReady(const Test& t, pid_t child, std::string* why, int timeout_ms = 10000);

// Sends SIGTERM to each child and reaps it; a child that did not exit 0 adds a line to the
// returned text (empty when all exited 0).
std::string TermAndReap(const std::vector<pid_t>& children);

// Waits until /proc/<pid>/stat shows the given state letter ('Z', 'T', ...).
bool WaitForState(pid_t pid, char state, int timeout_ms = 10000);

}  // namespace zdtm
