// The process the freeze-downtime benchmark dumps and restores: N MiB of random data and Z MiB
// of zero-filled pages, checksummed at start and again on every SIGUSR1, so the benchmark can
// prove memory came back bit-identical. It writes nothing else and holds no other files open.
//
//   stasis_bench_workload --mib N --zero-mib Z --pidfile F --ready F --result F
// --ready gets the start checksum once the memory is filled; each SIGUSR1 writes
// "<checksum> OK" or "<checksum> MISMATCH expected <start>" to --result.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>

#include "engine/common/crc32c.h"

namespace {

constexpr size_t kMiB = 1u << 20;
constexpr size_t kPage = 4096;

volatile sig_atomic_t g_verify_requested = 0;  // set by the SIGUSR1 handler only

void OnUsr1(int) { g_verify_requested = 1; }

struct Options {
  size_t mib = 1024;
  size_t zero_mib = 64;
  std::string pidfile, ready, result;
};

bool ParseArgs(int argc, char** argv, Options* o) {
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--mib") o->mib = std::strtoull(v.c_str(), nullptr, 10);
    else if (k == "--zero-mib") o->zero_mib = std::strtoull(v.c_str(), nullptr, 10);
    else if (k == "--pidfile") o->pidfile = v;
    else if (k == "--ready") o->ready = v;
    else if (k == "--result") o->result = v;
    else return false;
  }
  return (argc % 2) == 1 && o->mib > 0 && !o->pidfile.empty() && !o->ready.empty() && !o->result.empty();
}

// Written beside the final name and renamed, so the benchmark never reads half a line.
bool WriteFileAtomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ok = close(fd) == 0 && ok;
  return ok && rename(tmp.c_str(), path.c_str()) == 0;
}

char* MapAnon(size_t bytes) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    std::perror("mmap");
    std::exit(1);
  }
  return static_cast<char*>(p);
}

uint32_t Checksum(const char* data, size_t data_bytes, const char* zeros, size_t zero_bytes) {
  uint32_t crc = stasis::Crc32c(0, data, data_bytes);
  return stasis::Crc32c(crc, zeros, zero_bytes);
}

std::string Hex(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%08x", v);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!ParseArgs(argc, argv, &o)) {
    std::fprintf(stderr, "usage: %s --mib N --zero-mib Z --pidfile F --ready F --result F\n", argv[0]);
    return 2;
  }
  // Only memory is being measured: drop whatever descriptors the caller leaked to us.
  syscall(SYS_close_range, 3, ~0u, 0);
  struct sigaction sa {};
  sa.sa_handler = OnUsr1;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR1, &sa, nullptr);

  const size_t data_bytes = o.mib * kMiB, zero_bytes = o.zero_mib * kMiB;
  char* data = MapAnon(data_bytes);
  char* zeros = zero_bytes ? MapAnon(zero_bytes) : nullptr;
  // splitmix64: incompressible, and different on every run.
  uint64_t state = static_cast<uint64_t>(time(nullptr)) ^ (static_cast<uint64_t>(getpid()) << 32);
  for (size_t i = 0; i < data_bytes; i += sizeof(uint64_t)) {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    std::memcpy(data + i, &z, sizeof(z));
  }
  // Present pages full of zeros: the dump should skip them, the restore bring them back.
  for (size_t i = 0; i < zero_bytes; i += kPage) static_cast<volatile char*>(zeros)[i] = 0;

  const uint32_t expected = Checksum(data, data_bytes, zeros, zero_bytes);
  if (!WriteFileAtomically(o.pidfile, std::to_string(getpid()) + "\n") ||
      !WriteFileAtomically(o.ready, Hex(expected) + "\n")) {
    std::perror("write pidfile/ready");
    return 1;
  }
  // Started fine: from here on no output, and no log file held open across the dump.
  int devnull = open("/dev/null", O_RDWR);
  if (devnull >= 0) {
    dup2(devnull, STDOUT_FILENO);
    dup2(devnull, STDERR_FILENO);
    if (devnull > STDERR_FILENO) close(devnull);
  }
  for (;;) {
    while (!g_verify_requested) pause();
    g_verify_requested = 0;
    const uint32_t now = Checksum(data, data_bytes, zeros, zero_bytes);
    std::string line = Hex(now) + (now == expected ? " OK\n" : " MISMATCH expected " + Hex(expected) + "\n");
    WriteFileAtomically(o.result, line);
  }
}
