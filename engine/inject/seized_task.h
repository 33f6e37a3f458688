// ptrace attachments as RAII values. A SeizedThread is a thread we PTRACE_SEIZEd and stopped
// with PTRACE_INTERRUPT; its destructor detaches it, so an early return anywhere in a dump
// leaves the target running exactly as before.
#pragma once

#include <sys/types.h>

#include <memory>
#include <vector>

#include "engine/common/error.h"

namespace stasis::inject {

class SeizedThread {
 public:
  // PTRACE_SEIZE (with `options`, PTRACE_O_TRACESYSGOOD always added) and PTRACE_INTERRUPT,
  // then waits until the thread reports its stop. Fails with kNotFound if the thread vanished.
  static Result<std::unique_ptr<SeizedThread>> Seize(pid_t tid, unsigned options = 0);

  // Adopts a thread that is already traced and stopped by us (e.g. auto-attached through
  // PTRACE_O_TRACECLONE). No seize, no interrupt.
  static std::unique_ptr<SeizedThread> Adopt(pid_t tid);

  ~SeizedThread();
  SeizedThread(const SeizedThread&) = delete;
  SeizedThread& operator=(const SeizedThread&) = delete;

  pid_t tid() const { return tid_; }
  // True if the thread was in group-stop (SIGSTOP/SIGTSTP/...) when we seized it.
  bool group_stopped() const { return stop_signal_ != 0; }
  int stop_signal() const { return stop_signal_; }

  // Detaches now; `sig` is delivered on resume (0: none). The destructor does Detach(0).
  Status Detach(int sig = 0);
  // Gives up the attachment without detaching (the thread is gone, or killed on purpose).
  void Forget() { attached_ = false; }

 private:
  explicit SeizedThread(pid_t tid) : tid_(tid) {}
  pid_t tid_;
  int stop_signal_ = 0;
  bool attached_ = true;
};

// Waits for `tid` to report a ptrace stop; returns the raw wait status. Fails if it exited.
Result<int> WaitForStop(pid_t tid);

}  // namespace stasis::inject
