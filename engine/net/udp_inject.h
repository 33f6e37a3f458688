// Putting a UDP socket's dumped receive queue back with each datagram's original source
// address and port: the receiver may answer every datagram to its sender, and the sender's
// port is usually still held by the sender, so a plain socket cannot send from it. A raw
// socket (CAP_NET_RAW) builds the UDP header itself; the datagram travels over loopback.
#pragma once

#include <string>

#include "engine/common/error.h"
#include "engine/images/sockets.pb.h"

namespace stasis::net {

// Sends every datagram of s.queue() to the socket `fd` (bound to s's address, not yet
// connected) and waits (bounded) until all of them are queued there.
Status InjectUdpQueue(int fd, const img::InetSocket& s, const std::string& what);

}  // namespace stasis::net
