#include "engine/net/netns_links.h"

#include <arpa/inet.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <functional>
#include <map>
#include <string>

#include "engine/common/fd.h"

namespace stasis::net {
namespace {

constexpr size_t kBufferSize = 64u << 10;
constexpr size_t kMaxLinks = 4096;
constexpr size_t kMaxAddresses = 65536;

Result<UniqueFd> OpenRoute() {
  int fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return SysError("open a NETLINK_ROUTE socket");
  UniqueFd sock(fd);
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  if (::bind(sock.get(), reinterpret_cast<sockaddr*>(&local), sizeof local) < 0) return SysError("bind rtnetlink");
  return sock;
}

Status Send(int sock, const void* msg, size_t len, const char* what) {
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(sock, msg, len, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) != static_cast<ssize_t>(len))
    return SysError(std::string("rtnetlink: send ") + what);
  return Status::Ok();
}

// Receives the replies to one request; calls `each` for every data message. Returns the
// negative errno of an NLMSG_ERROR (0 for an ack).
template <typename Fn>
Result<int> Receive(int sock, uint32_t seq, const char* what, Fn each) {
  std::string buf(kBufferSize, '\0');
  for (;;) {
    ssize_t n = ::recv(sock, buf.data(), buf.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return SysError(std::string("rtnetlink: receive ") + what);
    int len = static_cast<int>(n);
    for (auto* h = reinterpret_cast<nlmsghdr*>(buf.data()); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_seq != seq) continue;
      if (h->nlmsg_type == NLMSG_DONE) return 0;
      if (h->nlmsg_type == NLMSG_ERROR) {
        if (h->nlmsg_len < NLMSG_LENGTH(sizeof(nlmsgerr))) return Corrupt(std::string("rtnetlink: short error to ") + what);
        return static_cast<const nlmsgerr*>(NLMSG_DATA(h))->error;
      }
      STASIS_TRY(each(h));
    }
  }
}

struct Request {
  nlmsghdr h;
  union {
    ifinfomsg link;
    ifaddrmsg addr;
  };
  char attrs[256];
};

void AddAttr(Request& r, uint16_t type, const void* data, size_t len) {
  auto* a = reinterpret_cast<rtattr*>(reinterpret_cast<char*>(&r) + NLMSG_ALIGN(r.h.nlmsg_len));
  a->rta_type = type;
  a->rta_len = static_cast<uint16_t>(RTA_LENGTH(len));
  std::memcpy(RTA_DATA(a), data, len);
  r.h.nlmsg_len = NLMSG_ALIGN(r.h.nlmsg_len) + RTA_ALIGN(a->rta_len);
}

Status Dump(int sock, uint16_t type, uint32_t seq, const char* what,
            const std::function<Status(nlmsghdr*)>& each) {
  Request r{};
  r.h.nlmsg_type = type;
  r.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  r.h.nlmsg_seq = seq;
  r.h.nlmsg_len = NLMSG_LENGTH(type == RTM_GETLINK ? sizeof(ifinfomsg) : sizeof(ifaddrmsg));
  STASIS_TRY(Send(sock, &r, r.h.nlmsg_len, what));
  int err = STASIS_VALUE(Receive(sock, seq, what, each));
  if (err != 0) return SysError(std::string("rtnetlink: ") + what, -err);
  return Status::Ok();
}

Status ParseLink(nlmsghdr* h, std::map<int, img::NetLink>* links) {
  if (h->nlmsg_type != RTM_NEWLINK || h->nlmsg_len < NLMSG_LENGTH(sizeof(ifinfomsg))) return Status::Ok();
  if (links->size() >= kMaxLinks) return Unsupported("more than 4096 network links");
  auto* ifi = static_cast<ifinfomsg*>(NLMSG_DATA(h));
  img::NetLink link;
  link.set_index(static_cast<uint32_t>(ifi->ifi_index));
  link.set_flags(ifi->ifi_flags);
  int len = static_cast<int>(IFLA_PAYLOAD(h));
  for (rtattr* a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
    const size_t n = RTA_PAYLOAD(a);
    if (a->rta_type == IFLA_IFNAME) link.set_name(std::string(static_cast<char*>(RTA_DATA(a)), strnlen(static_cast<char*>(RTA_DATA(a)), n)));
    if (a->rta_type == IFLA_MTU && n >= 4) link.set_mtu(*static_cast<uint32_t*>(RTA_DATA(a)));
    if (a->rta_type == IFLA_LINKINFO) {
      int ilen = static_cast<int>(n);
      for (rtattr* i = static_cast<rtattr*>(RTA_DATA(a)); RTA_OK(i, ilen); i = RTA_NEXT(i, ilen))
        if (i->rta_type == IFLA_INFO_KIND)
          link.set_kind(std::string(static_cast<char*>(RTA_DATA(i)), strnlen(static_cast<char*>(RTA_DATA(i)), RTA_PAYLOAD(i))));
    }
  }
  (*links)[ifi->ifi_index] = std::move(link);
  return Status::Ok();
}

Status ParseAddress(nlmsghdr* h, std::map<int, img::NetLink>* links, size_t* count) {
  if (h->nlmsg_type != RTM_NEWADDR || h->nlmsg_len < NLMSG_LENGTH(sizeof(ifaddrmsg))) return Status::Ok();
  auto* ifa = static_cast<ifaddrmsg*>(NLMSG_DATA(h));
  if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6) return Status::Ok();
  if (++*count > kMaxAddresses) return Unsupported("more than 65536 network addresses");
  auto it = links->find(static_cast<int>(ifa->ifa_index));
  if (it == links->end()) return Status::Ok();   // a link that appeared since: it has no entry
  img::NetAddress addr;
  addr.set_family(ifa->ifa_family);
  addr.set_prefix_len(ifa->ifa_prefixlen);
  addr.set_scope(ifa->ifa_scope);
  addr.set_flags(ifa->ifa_flags);
  const size_t want = ifa->ifa_family == AF_INET ? 4 : 16;
  std::string address, local;
  int len = static_cast<int>(IFA_PAYLOAD(h));
  for (rtattr* a = IFA_RTA(ifa); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
    const size_t n = RTA_PAYLOAD(a);
    if (a->rta_type == IFA_ADDRESS && n == want) address.assign(static_cast<char*>(RTA_DATA(a)), n);
    if (a->rta_type == IFA_LOCAL && n == want) local.assign(static_cast<char*>(RTA_DATA(a)), n);
    if (a->rta_type == IFA_FLAGS && n >= 4) addr.set_flags(*static_cast<uint32_t*>(RTA_DATA(a)));
  }
  addr.set_address(!local.empty() ? local : address);
  if (addr.address().size() != want) return Status::Ok();
  *it->second.add_addresses() = std::move(addr);
  return Status::Ok();
}

std::string Describe(const img::NetAddress& a) {
  char text[INET6_ADDRSTRLEN] = "?";
  ::inet_ntop(static_cast<int>(a.family()), a.address().data(), text, sizeof text);
  return std::string(text) + "/" + std::to_string(a.prefix_len());
}

bool SameAddress(const img::NetAddress& a, const img::NetAddress& b) {
  return a.family() == b.family() && a.address() == b.address() && a.prefix_len() == b.prefix_len();
}

// RTM_NEWADDR / RTM_DELADDR for one address of link `index`.
Status ChangeAddress(int sock, uint16_t type, int index, const img::NetAddress& a, uint32_t seq) {
  if (a.family() != AF_INET && a.family() != AF_INET6)
    return Corrupt("ns.img: address family " + std::to_string(a.family()));
  const size_t want = a.family() == AF_INET ? 4 : 16;
  if (a.address().size() != want || a.prefix_len() > want * 8)
    return Corrupt("ns.img: malformed address of family " + std::to_string(a.family()));
  Request r{};
  r.h.nlmsg_type = type;
  r.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | (type == RTM_NEWADDR ? NLM_F_CREATE | NLM_F_EXCL : 0);
  r.h.nlmsg_seq = seq;
  r.h.nlmsg_len = NLMSG_LENGTH(sizeof(ifaddrmsg));
  r.addr.ifa_family = static_cast<uint8_t>(a.family());
  r.addr.ifa_prefixlen = static_cast<uint8_t>(a.prefix_len());
  r.addr.ifa_scope = static_cast<uint8_t>(a.scope());
  r.addr.ifa_index = static_cast<uint32_t>(index);
  AddAttr(r, IFA_LOCAL, a.address().data(), want);
  AddAttr(r, IFA_ADDRESS, a.address().data(), want);
  if (type == RTM_NEWADDR) {
    // Only the flags a user may set; the kernel owns the rest (tentative, deprecated, ...).
    const uint32_t flags = a.flags() & (IFA_F_NODAD | IFA_F_NOPREFIXROUTE | IFA_F_MANAGETEMPADDR | IFA_F_HOMEADDRESS);
    AddAttr(r, IFA_FLAGS, &flags, sizeof flags);
  }
  const char* what = type == RTM_NEWADDR ? "add address" : "delete address";
  STASIS_TRY(Send(sock, &r, r.h.nlmsg_len, what));
  int err = STASIS_VALUE(Receive(sock, seq, what, [](nlmsghdr*) { return Status::Ok(); }));
  if (err == -EEXIST && type == RTM_NEWADDR) return Status::Ok();
  if (err != 0) return SysError(std::string(what) + " " + Describe(a), -err);
  return Status::Ok();
}

Status SetLinkUp(int sock, int index, bool up, uint32_t seq, const std::string& name) {
  Request r{};
  r.h.nlmsg_type = RTM_NEWLINK;
  r.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  r.h.nlmsg_seq = seq;
  r.h.nlmsg_len = NLMSG_LENGTH(sizeof(ifinfomsg));
  r.link.ifi_family = AF_UNSPEC;
  r.link.ifi_index = index;
  r.link.ifi_flags = up ? IFF_UP : 0;
  r.link.ifi_change = IFF_UP;
  STASIS_TRY(Send(sock, &r, r.h.nlmsg_len, "set link flags"));
  int err = STASIS_VALUE(Receive(sock, seq, "set link flags", [](nlmsghdr*) { return Status::Ok(); }));
  if (err != 0) return SysError("set link " + name + (up ? " up" : " down"), -err);
  return Status::Ok();
}

}  // namespace

Result<std::vector<img::NetLink>> ReadNetLinks() {
  UniqueFd sock = STASIS_VALUE(OpenRoute());
  std::map<int, img::NetLink> links;
  STASIS_TRY(Dump(sock.get(), RTM_GETLINK, 1, "list links", [&](nlmsghdr* h) { return ParseLink(h, &links); }));
  size_t count = 0;
  STASIS_TRY(Dump(sock.get(), RTM_GETADDR, 2, "list addresses",
                  [&](nlmsghdr* h) { return ParseAddress(h, &links, &count); }));
  std::vector<img::NetLink> out;
  for (auto& [index, link] : links) out.push_back(std::move(link));
  return out;
}

Status ApplyNetLinks(const google::protobuf::RepeatedPtrField<img::NetLink>& links) {
  UniqueFd sock = STASIS_VALUE(OpenRoute());
  uint32_t seq = 100;
  for (const img::NetLink& want : links) {
    const std::string who = "network link " + want.name();
    std::vector<img::NetLink> now = STASIS_VALUE(ReadNetLinks());
    const img::NetLink* have = nullptr;
    for (const img::NetLink& l : now)
      if (l.name() == want.name()) have = &l;
    if (have == nullptr)
      return Unsupported(who + (want.kind().empty() ? "" : " (" + want.kind() + ")") +
                         ": only the loopback link can be restored so far");
    const int index = static_cast<int>(have->index());
    // Up first: bringing lo up adds 127.0.0.1/8 and ::1, which the sync below then keeps or drops.
    if (((have->flags() ^ want.flags()) & IFF_UP) != 0)
      STASIS_TRY_CTX(SetLinkUp(sock.get(), index, (want.flags() & IFF_UP) != 0, ++seq, want.name()), who);
    for (const img::NetAddress& a : want.addresses())
      STASIS_TRY_CTX(ChangeAddress(sock.get(), RTM_NEWADDR, index, a, ++seq), who);
    now = STASIS_VALUE(ReadNetLinks());
    for (const img::NetLink& l : now) {
      if (l.name() != want.name()) continue;
      for (const img::NetAddress& a : l.addresses()) {
        bool dumped = false;
        for (const img::NetAddress& d : want.addresses()) dumped |= SameAddress(a, d);
        if (!dumped) STASIS_TRY_CTX(ChangeAddress(sock.get(), RTM_DELADDR, index, a, ++seq), who);
      }
    }
  }
  return Status::Ok();
}

}  // namespace stasis::net
