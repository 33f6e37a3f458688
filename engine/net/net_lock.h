// The network lock for established TCP connections (CRIU's "network lock", host flavor).
//
// Between the moment a dump puts a connection into repair mode and the moment the restored
// socket owns it again, no socket of this host owns the connection's 4-tuple: any segment the
// peer sends then (its next request, a retransmission, a keep-alive probe) is answered with a
// RST by the kernel, and the peer's connection is gone before the restore even starts. Data
// arriving while the dump reads the queues would be acknowledged and lost as well.
//
// The lock drops the peer's segments of exactly these connections with nftables (table
// `inet stasis_lock`, one set per family, one element per connection, through the `nft`
// command like CRIU's iptables-restore). Dropped segments are retransmitted by the peer once
// the restored socket exists, so nothing is lost and nobody is reset.
#pragma once

#include <cstdint>
#include <string>

#include "engine/common/error.h"
#include "engine/images/sockets.pb.h"

namespace stasis::net {

// One connection, seen from our side. Addresses are raw bytes (4 or 16), as in the images.
struct TcpTuple {
  uint32_t family = 0;
  std::string local_addr;
  uint32_t local_port = 0;
  std::string peer_addr;
  uint32_t peer_port = 0;
};

// The tuple of a connected socket (getsockname/getpeername).
Result<TcpTuple> TupleOfSocket(int fd, const std::string& what);
// The tuple of a dumped connection.
TcpTuple TupleOfImage(const img::InetSocket& s);

// The nftables element for the peer's direction: "127.0.0.1 . 80 . 127.0.0.1 . 4711".
// Pure; refuses addresses of the wrong size.
Result<std::string> LockElement(const TcpTuple& t);

// Starts dropping the peer's segments of `t`. kNotSupported when this host has no `nft`
// command or no nf_tables (the caller decides whether to go on without the lock).
Status LockConnection(const TcpTuple& t, const std::string& what);
// Stops dropping them; a connection that was not locked is fine. Removes the table once no
// connection is locked any more.
Status UnlockConnection(const TcpTuple& t, const std::string& what);

}  // namespace stasis::net
