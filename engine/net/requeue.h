// Putting dumped receive queues back: the data is sent again, by the receiver's peer (or a
// throwaway socket) into the receiver, so it lands in the receive queue in the same order.
#pragma once

#include <sys/socket.h>

#include <string>
#include <vector>

#include "engine/common/error.h"

namespace stasis::net {

struct Outgoing {
  const std::string* data;
  const sockaddr* to = nullptr;   // sendto() destination; null: the connected peer
  socklen_t to_len = 0;
};

// Sends each message whole (one datagram each on datagram sockets), never blocking. The
// sender's SO_SNDBUF is raised while sending (the dumped queue fitted the original sender's
// buffer, but skb overhead differs) and put back afterwards.
Status SendAll(int sender, const std::vector<Outgoing>& messages, const std::string& what);

}  // namespace stasis::net
