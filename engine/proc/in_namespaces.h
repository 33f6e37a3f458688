// Work done inside another process's namespaces without moving the caller: setns() changes only
// the calling thread, and neither the dumper nor the restorer may leave its own namespaces, so
// the work runs in a forked child that enters them and sends its result back through a pipe.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "engine/common/error.h"

namespace stasis::proc {

// Enters the namespaces `names` ("net", "uts", "ipc", ...) of `pid` in a forked child, runs
// `work` there and returns the bytes it produced. An error of `work` (or of entering) comes
// back as one message with kind `error_kind`; a child that dies without a reply is Internal.
// `work` runs in a child of a possibly multi-threaded process: it must not take locks another
// thread may hold (the engine's own code paths only allocate and make syscalls).
Result<std::string> RunInNamespaces(pid_t pid, const std::vector<std::string>& names, ErrorKind error_kind,
                                    const std::function<Result<std::string>()>& work);

}  // namespace stasis::proc
