#include "engine/proc/status.h"

#include <limits>

#include "engine/proc/text.h"

namespace stasis::proc {
namespace {

constexpr size_t kMaxStatusText = 64 * 1024;
constexpr size_t kMaxGroups = 65536;   // NGROUPS_MAX

enum Key : unsigned {
  kName, kUmask, kState, kTgid, kPid, kPPid, kTracerPid, kUid, kGid, kGroups, kThreads,
  kSigPnd, kShdPnd, kSigBlk, kSigIgn, kSigCgt, kCapInh, kCapPrm, kCapEff, kCapBnd, kCapAmb,
  kNoNewPrivs, kSeccomp, kKeyCount
};

constexpr std::string_view kKeyNames[kKeyCount] = {
    "Name", "Umask", "State", "Tgid", "Pid", "PPid", "TracerPid", "Uid", "Gid", "Groups", "Threads",
    "SigPnd", "ShdPnd", "SigBlk", "SigIgn", "SigCgt", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb",
    "NoNewPrivs", "Seccomp"};

Error Bad(std::string_view key, std::string_view value) {
  return Corrupt("status: bad " + std::string(key) + " value \"" + std::string(value.substr(0, 80)) + "\"");
}

bool ParsePid(std::string_view v, pid_t* out) {
  auto n = ParseU64(v);
  if (!n || *n > static_cast<uint64_t>(std::numeric_limits<pid_t>::max())) return false;
  *out = static_cast<pid_t>(*n);
  return true;
}

bool ParseU32(std::string_view v, uint32_t* out, int base = 10) {
  auto n = ParseU64(v, base);
  if (!n || *n > std::numeric_limits<uint32_t>::max()) return false;
  *out = static_cast<uint32_t>(*n);
  return true;
}

bool ParseIdQuad(std::string_view v, std::array<uint32_t, 4>* out) {
  for (uint32_t& id : *out)
    if (!ParseU32(NextToken(v), &id)) return false;
  return NextToken(v).empty();
}

bool ParseMask(std::string_view v, uint64_t* out) {
  if (v.size() != 16) return false;   // the kernel always prints 16 hex digits
  auto n = ParseU64(v, 16);
  if (!n) return false;
  *out = *n;
  return true;
}

Status ParseValue(Key key, std::string_view v, ProcStatus* s) {
  bool ok = true;
  switch (key) {
    case kName: s->name = std::string(v); break;
    case kUmask: ok = v.size() == 4 && ParseU32(v, &s->umask, 8) && s->umask <= 0777; break;
    case kState: ok = !v.empty() && (v.size() == 1 || v[1] == ' '); if (ok) s->state = v[0]; break;
    case kTgid: ok = ParsePid(v, &s->tgid); break;
    case kPid: ok = ParsePid(v, &s->pid); break;
    case kPPid: ok = ParsePid(v, &s->ppid); break;
    case kTracerPid: ok = ParsePid(v, &s->tracer_pid); break;
    case kUid: ok = ParseIdQuad(v, &s->uid); break;
    case kGid: ok = ParseIdQuad(v, &s->gid); break;
    case kGroups:
      for (std::string_view g = NextToken(v); ok && !g.empty(); g = NextToken(v)) {
        uint32_t id = 0;
        ok = ParseU32(g, &id) && s->groups.size() < kMaxGroups;
        if (ok) s->groups.push_back(id);
      }
      break;
    case kThreads: { auto n = ParseU64(v); ok = n.has_value(); if (ok) s->threads = *n; break; }
    case kSigPnd: ok = ParseMask(v, &s->sig_pnd); break;
    case kShdPnd: ok = ParseMask(v, &s->shd_pnd); break;
    case kSigBlk: ok = ParseMask(v, &s->sig_blk); break;
    case kSigIgn: ok = ParseMask(v, &s->sig_ign); break;
    case kSigCgt: ok = ParseMask(v, &s->sig_cgt); break;
    case kCapInh: ok = ParseMask(v, &s->cap_inh); break;
    case kCapPrm: ok = ParseMask(v, &s->cap_prm); break;
    case kCapEff: ok = ParseMask(v, &s->cap_eff); break;
    case kCapBnd: ok = ParseMask(v, &s->cap_bnd); break;
    case kCapAmb: ok = ParseMask(v, &s->cap_amb); break;
    case kNoNewPrivs: ok = v == "0" || v == "1"; s->no_new_privs = v == "1"; break;
    case kSeccomp: ok = ParseU32(v, &s->seccomp) && s->seccomp <= 2; break;
    case kKeyCount: break;
  }
  if (!ok) return Bad(kKeyNames[key], v);
  return Status::Ok();
}

}  // namespace

Result<ProcStatus> ParseStatus(std::string_view text) {
  if (text.size() > kMaxStatusText) return Corrupt("status: too large");
  ProcStatus s;
  bool seen[kKeyCount] = {};
  std::string_view line;
  while (NextLine(text, &line)) {
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) return Corrupt("status: line without a key: \"" + std::string(line.substr(0, 80)) + "\"");
    std::string_view name = line.substr(0, colon);
    unsigned k = 0;
    while (k < kKeyCount && kKeyNames[k] != name) ++k;
    if (k == kKeyCount) continue;
    if (seen[k]) return Corrupt("status: duplicate " + std::string(name));
    seen[k] = true;
    // The value follows a tab; Name keeps its own blanks, everything else is trimmed.
    std::string_view value = line.substr(colon + 1);
    if (!value.empty() && value.front() == '\t') value.remove_prefix(1);
    if (k != kName) value = TrimBlanks(value);
    STASIS_TRY(ParseValue(static_cast<Key>(k), value, &s));
  }
  for (unsigned k = 0; k < kKeyCount; ++k)
    if (!seen[k]) return Corrupt("status: missing " + std::string(kKeyNames[k]));
  return s;
}

}  // namespace stasis::proc
