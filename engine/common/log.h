// A small leveled logger owned by a command and passed down through its context.
#pragma once

#include <cstdio>
#include <string>

namespace stasis {

class Logger {
 public:
  // Verbosity as in CRIU: 0 errors only, 1 +warnings, 2 +info (default), 3 +debug, 4 +trace.
  explicit Logger(int verbosity = 2, FILE* sink = stderr) : verbosity_(verbosity), sink_(sink) {}
  ~Logger();
  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;

  // Sends messages to a file instead of stderr. Errors still reach stderr too.
  bool OpenFile(const std::string& path);

  void Error(const char* fmt, ...) __attribute__((format(printf, 2, 3)));
  void Warn(const char* fmt, ...) __attribute__((format(printf, 2, 3)));
  void Info(const char* fmt, ...) __attribute__((format(printf, 2, 3)));
  void Debug(const char* fmt, ...) __attribute__((format(printf, 2, 3)));
  bool debug_enabled() const { return verbosity_ >= 3; }
  int verbosity() const { return verbosity_; }

 private:
  void Write(int level, const char* tag, const char* fmt, va_list ap);
  int verbosity_;
  FILE* sink_;
  bool owns_sink_ = false;
};

}  // namespace stasis
