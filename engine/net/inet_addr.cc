#include "engine/net/inet_addr.h"

#include <arpa/inet.h>

#include <cstring>

namespace stasis::net {

std::string InetAddr::ToString() const {
  char buf[INET6_ADDRSTRLEN] = "?";
  if (ss.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf);
    return std::string(buf) + ":" + std::to_string(ntohs(in->sin_port));
  }
  const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&ss);
  inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof buf);
  return "[" + std::string(buf) + "]:" + std::to_string(ntohs(in6->sin6_port));
}

Result<InetAddr> MakeInetAddr(uint32_t family, const std::string& addr, uint32_t port) {
  InetAddr a;
  if (port > 65535) return Corrupt("port " + std::to_string(port));
  if (family == AF_INET) {
    if (!addr.empty() && addr.size() != 4) return Corrupt("IPv4 address of " + std::to_string(addr.size()) + " bytes");
    auto* in = reinterpret_cast<sockaddr_in*>(&a.ss);
    in->sin_family = AF_INET;
    in->sin_port = htons(static_cast<uint16_t>(port));
    if (!addr.empty()) std::memcpy(&in->sin_addr, addr.data(), 4);
    a.len = sizeof *in;
    return a;
  }
  if (family == AF_INET6) {
    if (!addr.empty() && addr.size() != 16) return Corrupt("IPv6 address of " + std::to_string(addr.size()) + " bytes");
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&a.ss);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(static_cast<uint16_t>(port));
    if (!addr.empty()) std::memcpy(&in6->sin6_addr, addr.data(), 16);
    a.len = sizeof *in6;
    return a;
  }
  return Corrupt("address family " + std::to_string(family));
}

bool SplitInetAddr(const sockaddr_storage& ss, socklen_t len, std::string* addr, uint32_t* port) {
  if (ss.ss_family == AF_INET && len >= sizeof(sockaddr_in)) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&ss);
    addr->assign(reinterpret_cast<const char*>(&in->sin_addr), 4);
    *port = ntohs(in->sin_port);
    return true;
  }
  if (ss.ss_family == AF_INET6 && len >= sizeof(sockaddr_in6)) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    addr->assign(reinterpret_cast<const char*>(&in6->sin6_addr), 16);
    *port = ntohs(in6->sin6_port);
    return true;
  }
  return false;
}

}  // namespace stasis::net
