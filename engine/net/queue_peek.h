// Reads a socket's receive queue without consuming it: MSG_PEEK walked forward with SO_PEEK_OFF,
// so the frozen owner later finds every byte where it left it.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <string>
#include <vector>

#include "engine/common/error.h"

namespace stasis::net {

// Every socket class stores its queue inside one image message; this keeps it under the image
// format's 16 MiB cap with room for the rest of the message.
inline constexpr size_t kMaxQueuedBytes = 12u << 20;

struct PeekedMessage {
  std::string data;
  sockaddr_storage from{};   // the sender (datagram sockets), from_len 0 when unnamed
  socklen_t from_len = 0;
};

// Stream sockets (keep_boundaries == false) come back as one message holding every queued
// byte; datagram/seqpacket sockets as one message per datagram. A message carrying SCM_RIGHTS
// is refused (the passed files are not attached to any process we dump). `what` names the
// socket in errors. SO_PEEK_OFF is put back as it was.
//
// Datagram sizes: unix sockets are asked with a zero-length MSG_TRUNC peek, which does not
// move their peek offset; UDP moves it past the datagram on any peek, so UDP callers pass
// `max_datagram` (65536) and each datagram is read in one peek of that size.
Result<std::vector<PeekedMessage>> PeekReceiveQueue(int fd, bool keep_boundaries,
                                                    const std::string& what,
                                                    size_t max_datagram = 0);

}  // namespace stasis::net
