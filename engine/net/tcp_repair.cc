#include "engine/net/tcp_repair.h"

#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <string>
#include <vector>

#include "engine/net/inet_addr.h"
#include "engine/net/queue_peek.h"
#include "engine/net/requeue.h"
#include "engine/net/socket_options.h"

namespace stasis::net {
namespace {

Status SetTcp(int fd, int name, int value, const char* opt, const std::string& what) {
  if (setsockopt(fd, IPPROTO_TCP, name, &value, sizeof value) != 0)
    return SysError(what + ": setsockopt " + opt + " " + std::to_string(value));
  return Status::Ok();
}

Result<int> GetTcp(int fd, int name, const char* opt, const std::string& what) {
  int v = 0;
  socklen_t len = sizeof v;
  if (getsockopt(fd, IPPROTO_TCP, name, &v, &len) != 0) return SysError(what + ": getsockopt " + opt);
  return v;
}

Result<int> Ioctl(int fd, unsigned long req, const char* name, const std::string& what) {
  int v = 0;
  if (ioctl(fd, req, &v) != 0) return SysError(what + ": ioctl " + name);
  return v;
}

// Peeks exactly `len` bytes of the queue selected with TCP_REPAIR_QUEUE.
Result<std::string> PeekExactly(int fd, size_t len, const char* queue, const std::string& what) {
  if (len > kMaxQueuedBytes) return Unsupported(what + ": " + std::to_string(len) + " bytes in the " + queue + " queue (over 12 MiB)");
  std::string data(len, '\0');
  if (len == 0) return data;
  ssize_t n = recv(fd, data.data(), len, MSG_PEEK | MSG_DONTWAIT);
  if (n < 0) return SysError(what + ": peek " + queue + " queue");
  if (static_cast<size_t>(n) != len)
    return Internal(what + ": " + queue + " queue holds " + std::to_string(len) + " bytes, peek gave " + std::to_string(n));
  return data;
}

// In repair mode a send() appends to the selected queue instead of transmitting.
Status RepairSend(int fd, int queue, const std::string& data, const char* name, const std::string& what) {
  if (data.empty()) return Status::Ok();
  STASIS_TRY(SetTcp(fd, TCP_REPAIR_QUEUE, queue, "TCP_REPAIR_QUEUE", what));
  std::string copy = data;  // SendAll takes pointers to strings
  return SendAll(fd, {{&copy}}, what + ": " + name + " queue");
}

}  // namespace

Status EnterTcpRepair(int fd, const std::string& what) {
  return SetTcp(fd, TCP_REPAIR, TCP_REPAIR_ON, "TCP_REPAIR", what);
}

Status LeaveTcpRepair(int fd, bool window_probe, const std::string& what) {
  return SetTcp(fd, TCP_REPAIR, window_probe ? TCP_REPAIR_OFF : TCP_REPAIR_OFF_NO_WP, "TCP_REPAIR", what);
}

Result<img::TcpRepairState> ReadTcpRepairState(int fd, const std::string& what) {
  img::TcpRepairState t;
  const int outq = STASIS_VALUE(Ioctl(fd, SIOCOUTQ, "SIOCOUTQ", what));
  const int unsent = STASIS_VALUE(Ioctl(fd, SIOCOUTQNSD, "SIOCOUTQNSD", what));
  const int inq = STASIS_VALUE(Ioctl(fd, SIOCINQ, "SIOCINQ", what));
  if (outq < 0 || unsent < 0 || inq < 0 || unsent > outq) return Internal(what + ": inconsistent queue lengths");

  STASIS_TRY(SetTcp(fd, TCP_REPAIR_QUEUE, TCP_SEND_QUEUE, "TCP_REPAIR_QUEUE", what));
  t.set_send_seq(static_cast<uint32_t>(STASIS_VALUE(GetTcp(fd, TCP_QUEUE_SEQ, "TCP_QUEUE_SEQ", what))));
  t.set_send_queue(STASIS_VALUE(PeekExactly(fd, static_cast<size_t>(outq), "send", what)));
  t.set_unsent_bytes(static_cast<uint32_t>(unsent));
  STASIS_TRY(SetTcp(fd, TCP_REPAIR_QUEUE, TCP_RECV_QUEUE, "TCP_REPAIR_QUEUE", what));
  t.set_recv_seq(static_cast<uint32_t>(STASIS_VALUE(GetTcp(fd, TCP_QUEUE_SEQ, "TCP_QUEUE_SEQ", what))));
  t.set_recv_queue(STASIS_VALUE(PeekExactly(fd, static_cast<size_t>(inq), "receive", what)));
  STASIS_TRY(SetTcp(fd, TCP_REPAIR_QUEUE, TCP_NO_QUEUE, "TCP_REPAIR_QUEUE", what));

  tcp_info info{};
  socklen_t len = sizeof info;
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return SysError(what + ": TCP_INFO");
  t.set_sack_ok(info.tcpi_options & TCPI_OPT_SACK);
  t.set_timestamp_ok(info.tcpi_options & TCPI_OPT_TIMESTAMPS);
  t.set_has_wscale(info.tcpi_options & TCPI_OPT_WSCALE);
  t.set_snd_wscale(info.tcpi_snd_wscale);
  t.set_rcv_wscale(info.tcpi_rcv_wscale);
  // In repair mode TCP_MAXSEG reports the clamp negotiated with the peer, not the cache.
  t.set_mss_clamp(static_cast<uint32_t>(STASIS_VALUE(GetTcp(fd, TCP_MAXSEG, "TCP_MAXSEG", what))));
  if (t.timestamp_ok())
    t.set_timestamp(static_cast<uint32_t>(STASIS_VALUE(GetTcp(fd, TCP_TIMESTAMP, "TCP_TIMESTAMP", what))));

  tcp_repair_window w{};
  len = sizeof w;
  if (getsockopt(fd, IPPROTO_TCP, TCP_REPAIR_WINDOW, &w, &len) != 0) return SysError(what + ": TCP_REPAIR_WINDOW");
  t.set_snd_wl1(w.snd_wl1);
  t.set_snd_wnd(w.snd_wnd);
  t.set_max_window(w.max_window);
  t.set_rcv_wnd(w.rcv_wnd);
  t.set_rcv_wup(w.rcv_wup);
  return t;
}

Status RestoreTcpConnection(int fd, const img::InetSocket& s, const std::string& what) {
  const img::TcpRepairState& t = s.tcp();
  if (t.unsent_bytes() > t.send_queue().size()) return Corrupt(what + ": more unsent bytes than queued");
  STASIS_TRY(EnterTcpRepair(fd, what));
  // The queues are put back by "sending" them, which advances the sequence numbers: start
  // from where the first queued byte was.
  STASIS_TRY(SetTcp(fd, TCP_REPAIR_QUEUE, TCP_SEND_QUEUE, "TCP_REPAIR_QUEUE", what));
  STASIS_TRY(SetTcp(fd, TCP_QUEUE_SEQ, static_cast<int>(t.send_seq() - static_cast<uint32_t>(t.send_queue().size())),
                    "TCP_QUEUE_SEQ", what));
  STASIS_TRY(SetTcp(fd, TCP_REPAIR_QUEUE, TCP_RECV_QUEUE, "TCP_REPAIR_QUEUE", what));
  STASIS_TRY(SetTcp(fd, TCP_QUEUE_SEQ, static_cast<int>(t.recv_seq() - static_cast<uint32_t>(t.recv_queue().size())),
                    "TCP_QUEUE_SEQ", what));

  InetAddr src = STASIS_VALUE_CTX(MakeInetAddr(s.family(), s.src_addr(), s.src_port()), what);
  InetAddr dst = STASIS_VALUE_CTX(MakeInetAddr(s.family(), s.dst_addr(), s.dst_port()), what);
  if (bind(fd, src.sa(), src.len) != 0) return SysError(what + ": bind " + src.ToString());
  if (connect(fd, dst.sa(), dst.len) != 0) return SysError(what + ": repair connect " + dst.ToString());

  std::vector<tcp_repair_opt> opts;
  opts.push_back({TCPOPT_MAXSEG, t.mss_clamp()});
  if (t.has_wscale()) opts.push_back({TCPOPT_WINDOW, t.snd_wscale() | (t.rcv_wscale() << 16)});
  if (t.sack_ok()) opts.push_back({TCPOPT_SACK_PERMITTED, 0});
  if (t.timestamp_ok()) opts.push_back({TCPOPT_TIMESTAMP, 0});
  if (setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_OPTIONS, opts.data(),
                 static_cast<socklen_t>(opts.size() * sizeof opts[0])) != 0)
    return SysError(what + ": TCP_REPAIR_OPTIONS");
  if (t.timestamp_ok()) STASIS_TRY(SetTcp(fd, TCP_TIMESTAMP, static_cast<int>(t.timestamp()), "TCP_TIMESTAMP", what));

  // Received bytes first (rcv_nxt must reach the dumped value before the window is set), then
  // the bytes the peer may already have seen; the never-sent tail goes out normally below.
  STASIS_TRY(RepairSend(fd, TCP_RECV_QUEUE, t.recv_queue(), "receive", what));
  const size_t sent = t.send_queue().size() - t.unsent_bytes();
  STASIS_TRY(RepairSend(fd, TCP_SEND_QUEUE, t.send_queue().substr(0, sent), "send", what));

  tcp_repair_window w{t.snd_wl1(), t.snd_wnd(), t.max_window(), t.rcv_wnd(), t.rcv_wup()};
  if (setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_WINDOW, &w, sizeof w) != 0) return SysError(what + ": TCP_REPAIR_WINDOW");
  return SetTcp(fd, TCP_REPAIR_QUEUE, TCP_NO_QUEUE, "TCP_REPAIR_QUEUE", what);
}

Status FinishTcpConnection(int fd, const img::InetSocket& s, const std::string& what) {
  const img::TcpRepairState& t = s.tcp();
  if (t.unsent_bytes() > t.send_queue().size()) return Corrupt(what + ": more unsent bytes than queued");
  STASIS_TRY(LeaveTcpRepair(fd, true, what));
  // Leaving repair mode resets SO_REUSEADDR; put the options back.
  STASIS_TRY_CTX(ApplySocketOptions(fd, s.opts(), static_cast<int>(s.family()), static_cast<int>(s.protocol())), what);
  if (t.unsent_bytes() > 0) {
    std::string tail = t.send_queue().substr(t.send_queue().size() - t.unsent_bytes());
    STASIS_TRY(SendAll(fd, {{&tail}}, what + ": unsent data"));
  }
  return Status::Ok();
}

}  // namespace stasis::net
