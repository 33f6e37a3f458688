// Loopback TCP/UDP helpers for the socket workloads: addresses, ports, and reads and writes
// bounded by a CLOCK_MONOTONIC deadline (a test must fail, not hang, when a peer goes quiet).
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace zdtm {

double MonotonicNow();   // seconds

// The loopback address of `family` (AF_INET or AF_INET6) with `port`; returns its length.
socklen_t LoopbackAddress(int family, uint16_t port, sockaddr_storage* ss);

// The local port of a bound socket, 0 when it has none.
uint16_t LocalPort(int fd);

// Exactly n bytes before `deadline` (fd may be non-blocking); false on EOF, error or timeout.
bool ReadExactly(int fd, char* buf, size_t n, double deadline);
// All of s before `deadline`; false on error or timeout.
bool SendAll(int fd, const std::string& s, double deadline);
// Reads strlen(want) bytes and compares them with want.
bool ExpectBytes(int fd, const char* want, double deadline);

}  // namespace zdtm
