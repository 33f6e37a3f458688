#include "engine/net/net_lock.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vector>

#include "engine/common/fd.h"
#include "engine/net/inet_addr.h"

extern char** environ;

namespace stasis::net {
namespace {

constexpr const char* kTable = "stasis_lock";

struct NftResult {
  int status = -1;      // exit status, -1 if it did not exit normally
  std::string output;   // stdout and stderr together
};

// Runs `nft ARGS...` (no shell) and collects what it prints. kNotSupported if there is no nft.
Result<NftResult> RunNft(const std::vector<std::string>& args) {
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) return SysError("pipe for nft");
  UniqueFd rd(pipefd[0]), wr(pipefd[1]);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, wr.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, wr.get(), 2);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  std::vector<char*> argv;
  std::string prog = "nft";
  argv.push_back(prog.data());
  std::vector<std::string> copy = args;
  for (std::string& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int err = posix_spawnp(&pid, "nft", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (err == ENOENT) return Unsupported("the nft command (package nftables) is not installed");
  if (err != 0) return SysError("run nft", err);
  wr.reset();
  NftResult r;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(rd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (r.output.size() < (64u << 10)) r.output.append(buf, static_cast<size_t>(n));
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string FirstLine(const std::string& s) {
  const size_t nl = s.find('\n');
  return nl == std::string::npos ? s : s.substr(0, nl);
}

Status Nft(const std::vector<std::string>& args, const std::string& what) {
  NftResult r = STASIS_VALUE_CTX(RunNft(args), what);
  if (r.status != 0) return Unsupported(what + ": nft " + args[0] + " failed: " + FirstLine(r.output));
  return Status::Ok();
}

const char* SetName(uint32_t family) { return family == AF_INET6 ? "conns6" : "conns4"; }

Result<std::string> AddrText(uint32_t family, const std::string& raw) {
  char text[INET6_ADDRSTRLEN];
  const size_t want = family == AF_INET6 ? 16 : 4;
  if ((family != AF_INET && family != AF_INET6) || raw.size() != want)
    return Corrupt("address of " + std::to_string(raw.size()) + " bytes for family " + std::to_string(family));
  if (::inet_ntop(static_cast<int>(family), raw.data(), text, sizeof text) == nullptr)
    return SysError("inet_ntop");
  return std::string(text);
}

// Creates the table, its sets and its drop rules unless they are there already.
Status EnsureTable(const std::string& what) {
  NftResult probe = STASIS_VALUE_CTX(RunNft({"list", "table", "inet", kTable}), what);
  if (probe.status == 0) return Status::Ok();
  const std::string t = std::string("inet ") + kTable;
  // Priority -150 (mangle): before any filter rule of the host's own firewall can accept.
  return Nft({"add table " + t + "; "
              "add set " + t + " conns4 { type ipv4_addr . inet_service . ipv4_addr . inet_service; }; "
              "add set " + t + " conns6 { type ipv6_addr . inet_service . ipv6_addr . inet_service; }; "
              "add chain " + t + " input { type filter hook input priority -150; policy accept; }; "
              "add rule " + t + " input ip saddr . tcp sport . ip daddr . tcp dport @conns4 drop; "
              "add rule " + t + " input ip6 saddr . tcp sport . ip6 daddr . tcp dport @conns6 drop"},
             what + ": create the nftables lock table");
}

}  // namespace

Result<TcpTuple> TupleOfSocket(int fd, const std::string& what) {
  TcpTuple t;
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return SysError(what + ": getsockname");
  t.family = ss.ss_family;
  if (!SplitInetAddr(ss, len, &t.local_addr, &t.local_port)) return Unsupported(what + ": not an IP socket");
  len = sizeof ss;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return SysError(what + ": getpeername");
  if (!SplitInetAddr(ss, len, &t.peer_addr, &t.peer_port)) return Unsupported(what + ": peer is not an IP address");
  return t;
}

TcpTuple TupleOfImage(const img::InetSocket& s) {
  return TcpTuple{s.family(), s.src_addr(), s.src_port(), s.dst_addr(), s.dst_port()};
}

Result<std::string> LockElement(const TcpTuple& t) {
  if (t.local_port == 0 || t.local_port > 65535 || t.peer_port == 0 || t.peer_port > 65535)
    return Corrupt("port out of range in a TCP connection");
  const std::string peer = STASIS_VALUE(AddrText(t.family, t.peer_addr));
  const std::string local = STASIS_VALUE(AddrText(t.family, t.local_addr));
  // The peer's segments: from peer:port to local:port.
  return peer + " . " + std::to_string(t.peer_port) + " . " + local + " . " + std::to_string(t.local_port);
}

Status LockConnection(const TcpTuple& t, const std::string& what) {
  const std::string element = STASIS_VALUE_CTX(LockElement(t), what);
  STASIS_TRY(EnsureTable(what));
  return Nft({"add", "element", "inet", kTable, SetName(t.family), "{ " + element + " }"},
             what + ": lock " + element);
}

Status UnlockConnection(const TcpTuple& t, const std::string& what) {
  const std::string element = STASIS_VALUE_CTX(LockElement(t), what);
  NftResult del = STASIS_VALUE_CTX(
      RunNft({"delete", "element", "inet", kTable, SetName(t.family), "{ " + element + " }"}), what);
  (void)del;   // absent (never locked, or unlocked already): nothing to do
  // The table goes once both sets are empty, so an idle host carries no rules of ours.
  for (const char* set : {"conns4", "conns6"}) {
    NftResult list = STASIS_VALUE_CTX(RunNft({"list", "set", "inet", kTable, set}), what);
    if (list.status != 0) return Status::Ok();   // no table
    if (list.output.find("elements") != std::string::npos) return Status::Ok();
  }
  NftResult drop = STASIS_VALUE_CTX(RunNft({"delete", "table", "inet", kTable}), what);
  (void)drop;   // another restore may have removed it first
  return Status::Ok();
}

}  // namespace stasis::net
