#include "engine/common/log.h"

#include <cstdarg>
#include <ctime>

namespace stasis {

Logger::~Logger() {
  if (owns_sink_) std::fclose(sink_);
}

bool Logger::OpenFile(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "we");
  if (f == nullptr) return false;
  if (owns_sink_) std::fclose(sink_);
  sink_ = f;
  owns_sink_ = true;
  return true;
}

void Logger::Write(int level, const char* tag, const char* fmt, va_list ap) {
  if (level > verbosity_ && !(level == 0)) return;
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  std::fprintf(sink_, "(%5ld.%06ld) %s", static_cast<long>(ts.tv_sec), ts.tv_nsec / 1000, tag);
  va_list copy;
  va_copy(copy, ap);
  std::vfprintf(sink_, fmt, copy);
  va_end(copy);
  std::fputc('\n', sink_);
  std::fflush(sink_);
}

#define STASIS_LOG_FN(name, level, tag) \
  void Logger::name(const char* fmt, ...) { \
    va_list ap;                              \
    va_start(ap, fmt);                       \
    Write(level, tag, fmt, ap);              \
    va_end(ap);                              \
  }
STASIS_LOG_FN(Error, 0, "Error: ")
STASIS_LOG_FN(Warn, 1, "Warn: ")
STASIS_LOG_FN(Info, 2, "")
STASIS_LOG_FN(Debug, 3, "")
#undef STASIS_LOG_FN

}  // namespace stasis
