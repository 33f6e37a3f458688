// Established TCP connections through TCP_REPAIR (needs CAP_NET_ADMIN): what the kernel knows
// about the connection is read out at dump and written into a fresh socket at restore, so the
// peer sees neither a reset nor a handshake.
#pragma once

#include "engine/common/error.h"
#include "engine/images/sockets.pb.h"

namespace stasis::net {

// Puts the socket into repair mode. While it is in repair mode closing it sends neither FIN nor
// RST: killing the dumped owner then leaves the peer waiting for the restored socket.
Status EnterTcpRepair(int fd, const std::string& what);
// Leaves repair mode; with `window_probe` the kernel sends a window probe so the peer resumes
// at once (used at restore; a dump that gives the socket back to its owner passes false).
Status LeaveTcpRepair(int fd, bool window_probe, const std::string& what);

// Reads sequence numbers, both queues, negotiated options, timestamp and window. The socket
// must be in repair mode and ESTABLISHED.
Result<img::TcpRepairState> ReadTcpRepairState(int fd, const std::string& what);

// Makes `fd` (a fresh, unbound TCP socket of s.family(), options that matter before bind
// already set) the dumped connection s: repair mode, sequence numbers, bind, connect, options,
// queues, window. The socket stays in repair mode: closing it (a restore that fails later)
// then sends nothing, and the peer's connection survives for another attempt.
Status RestoreTcpConnection(int fd, const img::InetSocket& s, const std::string& what);

// The last step, once every fd of the tree is in place and just before the tree resumes (the
// restore pipeline does it through its own copy of the fd): leaves repair mode with a window
// probe, puts back the options repair mode overrides (SO_REUSEADDR) and sends the never-sent
// tail of the send queue.
Status FinishTcpConnection(int fd, const img::InetSocket& s, const std::string& what);

}  // namespace stasis::net
