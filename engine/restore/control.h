// The command protocol between the coordinator and each puppet: one SOCK_SEQPACKET socket
// pair per puppet, one fixed-size request and one fixed-size reply per step, so tree creation
// is sequential and deterministic. The puppet side runs after clone(): it never allocates and
// never throws.
#pragma once

#include <cstdint>
#include <string>
#include <type_traits>

#include "engine/common/error.h"
#include "engine/common/fd.h"

namespace stasis::restore {

enum class PuppetCommand : uint32_t {
  kSetup = 1,           // session, group, fds, cwd, umask
  kSpawnChild = 2,      // clone3 plan child `child` (its control socket comes back with the reply)
  kMapTrampoline = 3,   // map the trampoline; reply: its address and the control fd number
};

struct PuppetRequest {
  PuppetCommand command;
  int32_t child;        // kSpawnChild: index into the plan
};

struct PuppetReply {
  int32_t error;        // 0, or the errno of the failed step
  int32_t control_fd;   // the puppet's own control fd number
  uint64_t value;       // kSpawnChild: the child's pid; kMapTrampoline: the trampoline address
  char what[320];       // the failed step, e.g. "open /var/log/x" (NUL-terminated)
};

static_assert(std::is_trivially_copyable_v<PuppetRequest>);
static_assert(std::is_trivially_copyable_v<PuppetReply>);

// Coordinator side. `who` names the puppet in errors ("pid 42").
Status SendRequest(int fd, const PuppetRequest& request, const std::string& who);
// Waits (bounded) for the reply; a reply with error != 0 becomes an Error "what: strerror".
// A descriptor passed with the reply is stored in *passed (if not null).
Result<PuppetReply> ReceiveReply(int fd, const std::string& who, UniqueFd* passed = nullptr);

// Puppet side: plain syscalls only. Return false when the coordinator is gone.
bool PuppetReceive(int fd, PuppetRequest* request);
bool PuppetSend(int fd, const PuppetReply& reply, int pass_fd = -1);

}  // namespace stasis::restore
