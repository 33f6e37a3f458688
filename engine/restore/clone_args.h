// struct clone_args of clone3(2), spelled out so both the puppets (fork-like clone3 with a
// chosen pid) and the thread restorer (the same struct written into a tracee) use one layout
// without pulling <linux/sched.h> next to glibc's <sched.h>.
#pragma once

#include <cstdint>
#include <type_traits>

namespace stasis::restore {

struct CloneArgs {
  uint64_t flags = 0;
  uint64_t pidfd = 0;
  uint64_t child_tid = 0;
  uint64_t parent_tid = 0;
  uint64_t exit_signal = 0;
  uint64_t stack = 0;
  uint64_t stack_size = 0;
  uint64_t tls = 0;
  uint64_t set_tid = 0;        // address of an array of pid_t, one per pid namespace level
  uint64_t set_tid_size = 0;
  uint64_t cgroup = 0;
};

static_assert(sizeof(CloneArgs) == 88, "CLONE_ARGS_SIZE_VER2");
static_assert(std::is_trivially_copyable_v<CloneArgs>);

}  // namespace stasis::restore
