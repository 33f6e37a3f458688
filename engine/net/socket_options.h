// Socket options every socket class saves and restores the same way (getsockopt/setsockopt).
#pragma once

#include "engine/common/error.h"
#include "engine/images/sockets.pb.h"

namespace stasis::net {

// Reads the options that make sense for `family` (AF_UNIX, AF_INET, AF_INET6) and `protocol`
// (0 for unix, IPPROTO_TCP, IPPROTO_UDP) from a socket fd.
Result<img::SocketOptions> ReadSocketOptions(int fd, int family, int protocol);

// Applies them. Buffer sizes ask for half of the dumped value (the kernel doubles it), using
// the *FORCE variants so a dumped size above the sysctl maximum still comes back when we run
// with CAP_NET_ADMIN.
Status ApplySocketOptions(int fd, const img::SocketOptions& opts, int family, int protocol);

// Only the buffer sizes: restore code sets them last, after requeueing data that may have
// needed more room than the dumped size leaves.
Status ApplyBufferSizes(int fd, const img::SocketOptions& opts);

}  // namespace stasis::net
