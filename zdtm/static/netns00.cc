// The net namespace survives: the loopback link stays up and keeps 127.0.0.1 and ::1 plus two
// addresses the test adds (IPv4 and IPv6), which are usable (bind) after restore.
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <string>

#include "zdtm/lib/zdtm.h"

namespace {

constexpr char kV4[] = "10.11.12.13";
constexpr char kV6[] = "fd00:5a5a::13";

// RTM_NEWADDR on lo; returns 0 or an errno.
int AddAddress(int family, const char* text, int prefix) {
  struct {
    nlmsghdr h;
    ifaddrmsg a;
    char attrs[64];
  } req{};
  unsigned char addr[16];
  if (inet_pton(family, text, addr) != 1) return EINVAL;
  const size_t len = family == AF_INET ? 4 : 16;
  req.h.nlmsg_type = RTM_NEWADDR;
  req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
  req.h.nlmsg_len = NLMSG_LENGTH(sizeof(ifaddrmsg));
  req.a.ifa_family = static_cast<unsigned char>(family);
  req.a.ifa_prefixlen = static_cast<unsigned char>(prefix);
  req.a.ifa_index = if_nametoindex("lo");
  for (unsigned short type : {IFA_LOCAL, IFA_ADDRESS}) {
    auto* rta = reinterpret_cast<rtattr*>(reinterpret_cast<char*>(&req) + NLMSG_ALIGN(req.h.nlmsg_len));
    rta->rta_type = type;
    rta->rta_len = static_cast<unsigned short>(RTA_LENGTH(len));
    std::memcpy(RTA_DATA(rta), addr, len);
    req.h.nlmsg_len = NLMSG_ALIGN(req.h.nlmsg_len) + RTA_ALIGN(rta->rta_len);
  }
  int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (s < 0) return errno;
  int err = 0;
  if (send(s, &req, req.h.nlmsg_len, 0) < 0) err = errno;
  char reply[4096];
  if (err == 0) {
    ssize_t n = recv(s, reply, sizeof reply, 0);
    auto* h = reinterpret_cast<nlmsghdr*>(reply);
    if (n < 0) err = errno;
    else if (h->nlmsg_type == NLMSG_ERROR) err = -static_cast<nlmsgerr*>(NLMSG_DATA(h))->error;
  }
  close(s);
  return err;
}

bool LoUp() {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  const bool up = s >= 0 && ioctl(s, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_UP);
  if (s >= 0) close(s);
  return up;
}

std::set<std::string> LoAddresses() {
  std::set<std::string> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr || std::strcmp(i->ifa_name, "lo") != 0) continue;
    char text[INET6_ADDRSTRLEN] = "";
    if (i->ifa_addr->sa_family == AF_INET)
      inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr, text, sizeof text);
    else if (i->ifa_addr->sa_family == AF_INET6)
      inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(i->ifa_addr)->sin6_addr, text, sizeof text);
    if (text[0] != '\0') out.insert(text);
  }
  freeifaddrs(list);
  return out;
}

std::string Join(const std::set<std::string>& s) {
  std::string out;
  for (const std::string& a : s) out += (out.empty() ? "" : " ") + a;
  return out;
}

bool BindsTo(int family, const char* text) {
  int s = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_storage ss{};
  socklen_t len;
  if (family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    inet_pton(AF_INET, text, &a->sin_addr);
    len = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    inet_pton(AF_INET6, text, &a->sin6_addr);
    len = sizeof *a;
  }
  const bool ok = s >= 0 && bind(s, reinterpret_cast<sockaddr*>(&ss), len) == 0;
  if (s >= 0) close(s);
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  if (!LoUp()) t.Fail("lo is down before the dump (the ns flavor's init brings it up)");
  if (int err = AddAddress(AF_INET, kV4, 24)) t.Fail("add %s: %s", kV4, std::strerror(err));
  if (int err = AddAddress(AF_INET6, kV6, 64)) t.Fail("add %s: %s", kV6, std::strerror(err));
  const std::set<std::string> before = LoAddresses();
  for (const char* want : {"127.0.0.1", kV4, kV6})
    if (!before.count(want)) t.Fail("%s is not on lo before the dump: %s", want, Join(before).c_str());

  t.Ready();
  t.WaitForTerm();

  if (!LoUp()) t.Fail("lo is down after restore");
  const std::set<std::string> after = LoAddresses();
  if (after != before) t.Fail("lo has '%s', had '%s'", Join(after).c_str(), Join(before).c_str());
  if (!BindsTo(AF_INET, kV4)) t.Fail("bind to %s: %s", kV4, std::strerror(errno));
  if (!BindsTo(AF_INET6, kV6)) t.Fail("bind to %s: %s", kV6, std::strerror(errno));
  t.Pass();
}
