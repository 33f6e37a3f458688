// AF_UNIX names at restore: building sockaddr_un from the dumped sun_path bytes, binding with a
// stale socket file removed first, connecting by name.
#pragma once

#include <sys/socket.h>
#include <sys/un.h>

#include <string>

#include "engine/common/error.h"

namespace stasis::net {

inline bool IsAbstractName(const std::string& name) { return !name.empty() && name[0] == '\0'; }

// The kernel hands path names back with the terminating NUL when bind() passed one; the images
// keep them without it so every copy of one name compares equal.
std::string NormalizeUnixName(std::string name);

// The name as people read it: "@abstract" or "/run/x.sock".
std::string PrintableUnixName(const std::string& name);

// Fails (Corrupt) when name cannot be a sun_path: too long, or a path with a NUL inside.
Result<sockaddr_un> MakeUnixAddr(const std::string& name, socklen_t* len);

// Binds fd to name. A path name whose file is a stale socket (its socket was closed, e.g. when
// the dumped process was killed) is unlinked first; any other file there is an error. With
// `then_unlink` the new socket file is removed again (the dumped socket's file had been).
Status BindUnix(int fd, const std::string& name, bool then_unlink, const std::string& what);

// connect() to a bound unix socket; `what` names the connecting socket in errors.
Status ConnectUnix(int fd, const std::string& name, const std::string& what);

}  // namespace stasis::net
