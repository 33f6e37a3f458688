// A NETLINK_SOCK_DIAG client: asks the kernel about AF_UNIX and AF_INET/AF_INET6 sockets of the
// caller's network namespace and returns the parsed replies (engine/net/sock_diag_parse.h).
//
// libnl-3 owns the socket, the port id/sequence bookkeeping and the receive buffer sizing
// (nl_recv with MSG_PEEK grows the buffer for big dump batches); the bytes it hands back are
// parsed by our own pure parsers rather than libnl's cache objects, because libnl has no
// sock_diag object types and the parsers must stay fuzzable without a kernel.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/common/error.h"
#include "engine/net/sock_diag_parse.h"

struct nl_sock;

namespace stasis::net {

class SockDiag {
 public:
  // Connects a NETLINK_SOCK_DIAG socket in the caller's current network namespace.
  static Result<SockDiag> Open();

  SockDiag(SockDiag&& o) noexcept;
  SockDiag& operator=(SockDiag&& o) noexcept;
  SockDiag(const SockDiag&) = delete;
  SockDiag& operator=(const SockDiag&) = delete;
  ~SockDiag();

  // Every unix socket with name, vfs, peer, pending connections, queue lengths and shutdown.
  Result<std::vector<UnixDiag>> DumpUnix();
  // One unix socket by inode (an exact lookup, no table walk). NotFound if it does not exist.
  Result<UnixDiag> QueryUnix(uint32_t inode);
  // Every socket of `family` (AF_INET/AF_INET6) and `protocol` (IPPROTO_TCP/IPPROTO_UDP),
  // with tcp_info, shutdown and v6only.
  Result<std::vector<InetDiag>> DumpInet(int family, int protocol);

 private:
  explicit SockDiag(nl_sock* sk) : sk_(sk) {}
  // Sends one request and collects every SOCK_DIAG_BY_FAMILY payload until the reply ends.
  Result<std::vector<std::vector<uint8_t>>> Transact(const void* req, size_t len, int flags);

  nl_sock* sk_ = nullptr;
};

}  // namespace stasis::net
