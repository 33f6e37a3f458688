// Pure parsers for NETLINK_SOCK_DIAG replies (unix_diag, inet_diag). No I/O, no globals: every
// length is checked against the bytes actually present, so they can be fuzzed directly.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "engine/common/error.h"

namespace stasis::net {

// One batch of netlink messages as read by one recv(): the SOCK_DIAG_BY_FAMILY payloads it
// holds, and whether the dump ended (NLMSG_DONE) in it.
struct DiagBatch {
  std::vector<std::span<const uint8_t>> payloads;
  bool done = false;
};

// Splits a recv() buffer into messages. NLMSG_ERROR with a non-zero code becomes an Error
// carrying that errno; an ack (code 0) ends the batch like NLMSG_DONE.
Result<DiagBatch> SplitDiagMessages(std::span<const uint8_t> bytes);

// What unix_diag tells about one AF_UNIX socket.
struct UnixDiag {
  uint32_t inode = 0;
  uint8_t type = 0;           // SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET
  uint8_t state = 0;          // TCP_ESTABLISHED, TCP_LISTEN or TCP_CLOSE (the kernel reuses them)
  std::string name;           // sun_path bytes; abstract names start with '\0'; empty: unbound
  bool has_vfs = false;       // bound to a path: the socket file's inode and device
  uint32_t vfs_inode = 0;
  uint32_t vfs_dev = 0;
  uint32_t peer_inode = 0;    // 0: no peer
  std::vector<uint32_t> icons;  // listeners: inodes of connections not yet accepted
  bool has_rqlen = false;
  uint32_t rqueue = 0;        // listeners: pending connections; others: bytes queued to read
  uint32_t wqueue = 0;        // listeners: the backlog; others: bytes not yet consumed by the peer
  uint8_t shutdown = 0;       // bit 0: RCV_SHUTDOWN, bit 1: SEND_SHUTDOWN
};

Result<UnixDiag> ParseUnixDiag(std::span<const uint8_t> payload);

// What inet_diag tells about one AF_INET/AF_INET6 TCP or UDP socket.
struct InetDiag {
  uint8_t family = 0;
  uint8_t state = 0;          // TCP_* state (UDP: TCP_ESTABLISHED when connected, else TCP_CLOSE)
  uint8_t protocol = 0;       // IPPROTO_TCP / IPPROTO_UDP, when the kernel says so
  uint16_t src_port = 0;      // host byte order
  uint16_t dst_port = 0;
  std::array<uint8_t, 16> src{};  // network byte order; AF_INET uses the first 4 bytes
  std::array<uint8_t, 16> dst{};
  uint32_t ifindex = 0;
  uint32_t inode = 0;
  uint32_t uid = 0;
  uint32_t rqueue = 0;
  uint32_t wqueue = 0;
  bool has_shutdown = false;
  uint8_t shutdown = 0;
  bool has_v6only = false;
  bool v6only = false;
  bool has_tcp_info = false;  // the first fields of struct tcp_info (INET_DIAG_INFO)
  uint8_t tcpi_options = 0;
  uint8_t tcpi_snd_wscale = 0;
  uint8_t tcpi_rcv_wscale = 0;
  uint32_t tcpi_snd_mss = 0;
};

Result<InetDiag> ParseInetDiag(std::span<const uint8_t> payload);

}  // namespace stasis::net
