// The socket classes as files::FileKind modules, for the registry (engine/files/registry.cc).
#pragma once

#include "engine/files/file_kind.h"

namespace stasis::net {

const files::FileKind& UnixSocketKind();   // unix_socket.cc
const files::FileKind& InetSocketKind();   // inet_socket.cc

// Sockets are told apart from other files by st_mode; the family needs one getsockopt.
int SocketDomain(const files::OpenFd& f);

}  // namespace stasis::net
