#include "engine/proc/stat.h"

#include <array>
#include <limits>
#include <type_traits>

#include "engine/proc/text.h"

namespace stasis::proc {
namespace {

constexpr size_t kFields = 52;
constexpr size_t kMaxStatText = 4096;
constexpr size_t kMaxComm = 64;   // TASK_COMM_LEN is 16; kthreads' names can be a bit longer

}  // namespace

Result<ProcStat> ParseStat(std::string_view text) {
  if (text.size() > kMaxStatText) return Corrupt("stat: longer than " + std::to_string(kMaxStatText) + " bytes");
  size_t open = text.find('(');
  size_t close = text.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open)
    return Corrupt("stat: no (comm)");
  if (close - open - 1 > kMaxComm) return Corrupt("stat: comm too long");

  ProcStat s;
  auto pid = ParseU64(TrimBlanks(text.substr(0, open)));
  if (!pid || *pid == 0 || *pid > std::numeric_limits<pid_t>::max()) return Corrupt("stat: bad pid");
  s.pid = static_cast<pid_t>(*pid);
  s.comm = std::string(text.substr(open + 1, close - open - 1));

  // Fields 3.. after the comm. Field n lives at index n - 3.
  std::array<std::string_view, kFields - 2> f{};
  std::string_view rest = text.substr(close + 1);
  if (!rest.empty() && rest.back() == '\n') rest.remove_suffix(1);
  size_t n = 0;
  for (std::string_view tok = NextToken(rest); !tok.empty(); tok = NextToken(rest)) {
    if (n < f.size()) f[n] = tok;
    ++n;
  }
  if (n < f.size()) return Corrupt("stat: " + std::to_string(n + 2) + " fields, need " + std::to_string(kFields));

  auto field = [&](size_t index) { return f[index - 3]; };
  if (field(3).size() != 1) return Corrupt("stat: bad state");
  s.state = field(3)[0];

  bool ok = true;
  auto signed_field = [&](size_t index, auto* out) {
    auto v = ParseI64(field(index));
    using T = std::remove_pointer_t<decltype(out)>;
    if (!v || *v < std::numeric_limits<T>::min() || *v > std::numeric_limits<T>::max()) {
      ok = false;
      return;
    }
    *out = static_cast<T>(*v);
  };
  auto unsigned_field = [&](size_t index, uint64_t* out) {
    auto v = ParseU64(field(index));
    if (!v) ok = false;
    else *out = *v;
  };
  signed_field(4, &s.ppid);
  signed_field(5, &s.pgrp);
  signed_field(6, &s.session);
  signed_field(7, &s.tty_nr);
  unsigned_field(9, &s.flags);
  unsigned_field(20, &s.num_threads);
  unsigned_field(22, &s.start_time);
  unsigned_field(26, &s.start_code);
  unsigned_field(27, &s.end_code);
  unsigned_field(28, &s.start_stack);
  signed_field(38, &s.exit_signal);
  unsigned_field(45, &s.start_data);
  unsigned_field(46, &s.end_data);
  unsigned_field(47, &s.start_brk);
  unsigned_field(48, &s.arg_start);
  unsigned_field(49, &s.arg_end);
  unsigned_field(50, &s.env_start);
  unsigned_field(51, &s.env_end);
  signed_field(52, &s.exit_code);
  if (!ok) return Corrupt("stat of pid " + std::to_string(s.pid) + ": a numeric field is malformed");
  if (s.ppid < 0 || s.pgrp < 0 || s.session < 0) return Corrupt("stat of pid " + std::to_string(s.pid) + ": negative id");
  return s;
}

}  // namespace stasis::proc
