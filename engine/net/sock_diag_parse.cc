#include "engine/net/sock_diag_parse.h"

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <functional>

namespace stasis::net {
namespace {

using Bytes = std::span<const uint8_t>;

uint32_t Align4(uint32_t n) { return (n + 3u) & ~3u; }

template <typename T>
T Load(Bytes b, size_t off = 0) {
  T v;
  std::memcpy(&v, b.data() + off, sizeof v);
  return v;
}

uint16_t FromBe16(uint16_t v) { return static_cast<uint16_t>((v >> 8) | (v << 8)); }

// Walks rtattr-style attributes (struct nlattr: u16 len, u16 type). The callback sees the
// type and the attribute's payload; a length that overruns the buffer is corruption.
Status ForEachAttr(Bytes attrs, const char* what,
                   const std::function<Status(uint16_t, Bytes)>& fn) {
  size_t off = 0;
  while (attrs.size() - off >= sizeof(nlattr)) {
    auto a = Load<nlattr>(attrs, off);
    if (a.nla_len < sizeof(nlattr) || a.nla_len > attrs.size() - off)
      return Corrupt(std::string(what) + ": attribute of type " + std::to_string(a.nla_type) +
                     " claims " + std::to_string(a.nla_len) + " bytes, " +
                     std::to_string(attrs.size() - off) + " left");
    STASIS_TRY(fn(a.nla_type & NLA_TYPE_MASK, attrs.subspan(off + NLA_HDRLEN, a.nla_len - NLA_HDRLEN)));
    off += Align4(a.nla_len);
    if (off > attrs.size()) break;  // the last attribute's padding may be missing
  }
  return Status::Ok();
}

Status NeedAtLeast(Bytes b, size_t n, const char* what) {
  if (b.size() < n)
    return Corrupt(std::string(what) + " is " + std::to_string(b.size()) + " bytes, need " +
                   std::to_string(n));
  return Status::Ok();
}

}  // namespace

Result<DiagBatch> SplitDiagMessages(Bytes bytes) {
  DiagBatch batch;
  size_t off = 0;
  while (bytes.size() - off >= sizeof(nlmsghdr) && !batch.done) {
    auto h = Load<nlmsghdr>(bytes, off);
    if (h.nlmsg_len < sizeof(nlmsghdr) || h.nlmsg_len > bytes.size() - off)
      return Corrupt("sock_diag reply: message claims " + std::to_string(h.nlmsg_len) +
                     " bytes, " + std::to_string(bytes.size() - off) + " left");
    Bytes body = bytes.subspan(off + NLMSG_HDRLEN, h.nlmsg_len - NLMSG_HDRLEN);
    switch (h.nlmsg_type) {
      case NLMSG_DONE:
        batch.done = true;
        break;
      case NLMSG_ERROR: {
        STASIS_TRY(NeedAtLeast(body, sizeof(int), "sock_diag NLMSG_ERROR"));
        int code = Load<int>(body);
        if (code == 0) {
          batch.done = true;
          break;
        }
        if (code > 0 || code < -4095) return Corrupt("sock_diag reply: error code " + std::to_string(code));
        return SysError("sock_diag request", -code);
      }
      case NLMSG_NOOP:
        break;
      case SOCK_DIAG_BY_FAMILY:
        batch.payloads.push_back(body);
        break;
      default:
        return Corrupt("sock_diag reply: unexpected message type " + std::to_string(h.nlmsg_type));
    }
    off += NLMSG_ALIGN(h.nlmsg_len);
    if (off > bytes.size()) break;
  }
  return batch;
}

Result<UnixDiag> ParseUnixDiag(Bytes payload) {
  STASIS_TRY(NeedAtLeast(payload, sizeof(unix_diag_msg), "unix_diag message"));
  auto m = Load<unix_diag_msg>(payload);
  if (m.udiag_family != AF_UNIX)
    return Corrupt("unix_diag message: family " + std::to_string(m.udiag_family));
  UnixDiag d;
  d.inode = m.udiag_ino;
  d.type = m.udiag_type;
  d.state = m.udiag_state;
  const std::string where = "unix_diag socket " + std::to_string(d.inode);
  STASIS_TRY(ForEachAttr(payload.subspan(NLMSG_ALIGN(sizeof m) <= payload.size() ? NLMSG_ALIGN(sizeof m) : payload.size()),
                         where.c_str(), [&](uint16_t type, Bytes v) -> Status {
    switch (type) {
      case UNIX_DIAG_NAME:
        if (v.size() > 108) return Corrupt(where + ": name of " + std::to_string(v.size()) + " bytes");
        d.name.assign(reinterpret_cast<const char*>(v.data()), v.size());
        break;
      case UNIX_DIAG_VFS:
        STASIS_TRY(NeedAtLeast(v, sizeof(unix_diag_vfs), "UNIX_DIAG_VFS"));
        d.has_vfs = true;
        d.vfs_inode = Load<unix_diag_vfs>(v).udiag_vfs_ino;
        d.vfs_dev = Load<unix_diag_vfs>(v).udiag_vfs_dev;
        break;
      case UNIX_DIAG_PEER:
        STASIS_TRY(NeedAtLeast(v, sizeof(uint32_t), "UNIX_DIAG_PEER"));
        d.peer_inode = Load<uint32_t>(v);
        break;
      case UNIX_DIAG_ICONS:
        if (v.size() % sizeof(uint32_t) != 0) return Corrupt(where + ": UNIX_DIAG_ICONS not a u32 array");
        for (size_t i = 0; i < v.size(); i += sizeof(uint32_t)) d.icons.push_back(Load<uint32_t>(v, i));
        break;
      case UNIX_DIAG_RQLEN:
        STASIS_TRY(NeedAtLeast(v, sizeof(unix_diag_rqlen), "UNIX_DIAG_RQLEN"));
        d.has_rqlen = true;
        d.rqueue = Load<unix_diag_rqlen>(v).udiag_rqueue;
        d.wqueue = Load<unix_diag_rqlen>(v).udiag_wqueue;
        break;
      case UNIX_DIAG_SHUTDOWN:
        STASIS_TRY(NeedAtLeast(v, 1, "UNIX_DIAG_SHUTDOWN"));
        d.shutdown = v[0];
        break;
      default:
        break;  // newer kernels add attributes; unknown ones are not an error
    }
    return Status::Ok();
  }));
  return d;
}

Result<InetDiag> ParseInetDiag(Bytes payload) {
  STASIS_TRY(NeedAtLeast(payload, sizeof(inet_diag_msg), "inet_diag message"));
  auto m = Load<inet_diag_msg>(payload);
  if (m.idiag_family != AF_INET && m.idiag_family != AF_INET6)
    return Corrupt("inet_diag message: family " + std::to_string(m.idiag_family));
  InetDiag d;
  d.family = m.idiag_family;
  d.state = m.idiag_state;
  d.src_port = FromBe16(m.id.idiag_sport);
  d.dst_port = FromBe16(m.id.idiag_dport);
  std::memcpy(d.src.data(), m.id.idiag_src, 16);
  std::memcpy(d.dst.data(), m.id.idiag_dst, 16);
  d.ifindex = m.id.idiag_if;
  d.inode = m.idiag_inode;
  d.uid = m.idiag_uid;
  d.rqueue = m.idiag_rqueue;
  d.wqueue = m.idiag_wqueue;
  const std::string where = "inet_diag socket " + std::to_string(d.inode);
  size_t head = NLMSG_ALIGN(sizeof m);
  STASIS_TRY(ForEachAttr(payload.subspan(head <= payload.size() ? head : payload.size()),
                         where.c_str(), [&](uint16_t type, Bytes v) -> Status {
    switch (type) {
      case INET_DIAG_SHUTDOWN:
        STASIS_TRY(NeedAtLeast(v, 1, "INET_DIAG_SHUTDOWN"));
        d.has_shutdown = true;
        d.shutdown = v[0];
        break;
      case INET_DIAG_SKV6ONLY:
        STASIS_TRY(NeedAtLeast(v, 1, "INET_DIAG_SKV6ONLY"));
        d.has_v6only = true;
        d.v6only = v[0] != 0;
        break;
      case INET_DIAG_PROTOCOL:
        STASIS_TRY(NeedAtLeast(v, 1, "INET_DIAG_PROTOCOL"));
        d.protocol = v[0];
        break;
      case INET_DIAG_INFO:
        // struct tcp_info: u8 state, ca_state, retransmits, probes, backoff, options,
        // wscales (snd low nibble, rcv high nibble), flags; u32 rto, ato, snd_mss, ...
        if (v.size() < 20) break;  // UDP has none; a short one is ignored, not trusted
        d.has_tcp_info = true;
        d.tcpi_options = v[5];
        d.tcpi_snd_wscale = v[6] & 0x0f;
        d.tcpi_rcv_wscale = v[6] >> 4;
        d.tcpi_snd_mss = Load<uint32_t>(v, 16);
        break;
      default:
        break;
    }
    return Status::Ok();
  }));
  return d;
}

}  // namespace stasis::net
