// IPv4/IPv6 socket addresses as the images keep them: raw address bytes (4 or 16) and a port.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <string>

#include "engine/common/error.h"

namespace stasis::net {

struct InetAddr {
  sockaddr_storage ss{};
  socklen_t len = 0;

  sockaddr* sa() { return reinterpret_cast<sockaddr*>(&ss); }
  const sockaddr* sa() const { return reinterpret_cast<const sockaddr*>(&ss); }
  // "127.0.0.1:80", "[::1]:80".
  std::string ToString() const;
};

// Builds the sockaddr; an empty `addr` means the wildcard address. Corrupt on a wrong length.
Result<InetAddr> MakeInetAddr(uint32_t family, const std::string& addr, uint32_t port);

// The address bytes and port of a sockaddr_in/sockaddr_in6 (false for anything else).
bool SplitInetAddr(const sockaddr_storage& ss, socklen_t len, std::string* addr, uint32_t* port);

}  // namespace stasis::net
