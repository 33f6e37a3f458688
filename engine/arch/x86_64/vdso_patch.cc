#include "engine/arch/x86_64/vdso_patch.h"

#include <sys/syscall.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>

namespace stasis::arch {
namespace {

// The kernel's x86-64 vDSO functions and what stands in for them where it lacks one. Every
// vDSO function with a syscall twin takes the syscall's arguments in the same registers
// (rdi, rsi, rdx: none has a fourth) and returns like it (-errno), which is what glibc
// expects from both (INTERNAL_SYSCALL_ERROR_P on the vDSO's result).
struct KnownFunction {
  const char* name;   // without the __vdso_ prefix
  VdsoFix fix;
  int syscall_nr;
};
constexpr KnownFunction kKnown[] = {
    {"clock_gettime", VdsoFix::kSyscall, SYS_clock_gettime},
    {"gettimeofday", VdsoFix::kSyscall, SYS_gettimeofday},
    {"time", VdsoFix::kSyscall, SYS_time},
    {"getcpu", VdsoFix::kSyscall, SYS_getcpu},
    {"clock_getres", VdsoFix::kSyscall, SYS_clock_getres},
    // vgetrandom(buf, len, flags, state, state_len): glibc (2.41 getrandom.c) treats any error
    // but EAGAIN as the caller's result, so -ENOSYS would make getrandom() fail; the syscall
    // takes the first three arguments in the same registers and is what the kernel's own
    // vgetrandom falls back to. Only the start-up query (state_len == ~0) has no syscall
    // meaning: -ENOSYS there is how a kernel without vgetrandom answers it.
    {"getrandom", VdsoFix::kGetrandom, SYS_getrandom},
    // Needs an enclave, which no restore carries across; the caller gets an error, not a crash.
    {"sgx_enter_enclave", VdsoFix::kNotSupported, 0},
};

const KnownFunction* FindKnown(std::string_view name) {
  if (name.starts_with("__vdso_")) name.remove_prefix(7);
  for (const KnownFunction& k : kKnown)
    if (name == k.name) return &k;
  return nullptr;
}

void Put32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void Put64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
std::string Bytes(std::initializer_list<uint8_t> b) { return std::string(b.begin(), b.end()); }

std::string SyscallStub(int nr) {
  std::string s = Bytes({0xb8});   // mov eax, imm32
  Put32(s, static_cast<uint32_t>(nr));
  return s + Bytes({0x0f, 0x05, 0xc3});   // syscall; ret
}

// mov rax, -ENOSYS (sign-extended imm32: the functions return long/ssize_t); ret
std::string EnosysStub() {
  std::string s = Bytes({0x48, 0xc7, 0xc0});
  Put32(s, static_cast<uint32_t>(-ENOSYS));
  return s + Bytes({0xc3});
}

std::string GetrandomStub() {
  std::string s = Bytes({0x49, 0x83, 0xf8, 0xff});   // cmp r8, -1
  const std::string call = SyscallStub(SYS_getrandom);
  s += Bytes({0x74, static_cast<uint8_t>(call.size())});   // je over the syscall
  return s + call + EnosysStub();
}

size_t StubSize(const VdsoEntryFix& e) {
  switch (e.fix) {
    case VdsoFix::kJump: return kRel32JumpBytes;
    case VdsoFix::kSyscall: return SyscallStub(e.syscall_nr).size();
    case VdsoFix::kGetrandom: return GetrandomStub().size();
    case VdsoFix::kNotSupported: return EnosysStub().size();
  }
  return 0;
}

bool Rel32Reaches(uint64_t from_end, uint64_t to) {
  const auto delta = static_cast<int64_t>(to - from_end);
  return delta >= INT32_MIN && delta <= INT32_MAX;
}

}  // namespace

Result<VdsoRedirectPlan> PlanVdsoRedirect(const std::vector<VdsoSymbol>& old_functions,
                                          const std::vector<VdsoSymbol>& new_functions) {
  std::map<std::string, const VdsoSymbol*> by_name;
  for (const VdsoSymbol& s : new_functions) by_name.emplace(s.name, &s);

  // Aliases (clock_gettime, __vdso_clock_gettime) share an address: one patch for all names.
  std::map<uint64_t, std::vector<const VdsoSymbol*>> by_offset;
  for (const VdsoSymbol& s : old_functions) by_offset[s.offset].push_back(&s);

  VdsoRedirectPlan plan;
  for (const auto& [offset, names] : by_offset) {
    VdsoEntryFix e;
    e.name = names.front()->name;
    e.old_offset = offset;
    e.old_size = 0;
    for (const VdsoSymbol* s : names) e.old_size = std::max(e.old_size, s->size);
    const VdsoSymbol* target = nullptr;
    for (const VdsoSymbol* s : names) {
      auto it = by_name.find(s->name);
      if (it != by_name.end()) {
        target = it->second;
        break;
      }
    }
    if (target != nullptr) {
      e.fix = VdsoFix::kJump;
      e.new_offset = target->offset;
    } else {
      const KnownFunction* known = nullptr;
      for (const VdsoSymbol* s : names)
        if ((known = FindKnown(s->name)) != nullptr) break;
      if (known == nullptr)
        return Unsupported("the dumped vDSO exports " + e.name +
                           ", which this kernel's vDSO lacks and stasis cannot stand in for");
      e.fix = known->fix;
      e.syscall_nr = known->syscall_nr;
    }
    if (e.old_size < StubSize(e))
      return Unsupported("the dumped vDSO's " + e.name + " is " + std::to_string(e.old_size) +
                         " bytes, too small to redirect (needs " + std::to_string(StubSize(e)) + ")");
    if (!plan.entries.empty()) {
      const VdsoEntryFix& prev = plan.entries.back();
      if (prev.old_offset + StubSize(prev) > e.old_offset)
        return Corrupt("vDSO image: functions " + prev.name + " and " + e.name + " overlap");
    }
    plan.entries.push_back(std::move(e));
  }
  return plan;
}

bool RedirectFits(const VdsoRedirectPlan& plan, uint64_t old_base, uint64_t new_base) {
  for (const VdsoEntryFix& e : plan.entries) {
    if (e.fix != VdsoFix::kJump || e.old_size >= kAbsJumpBytes) continue;
    if (!Rel32Reaches(old_base + e.old_offset + kRel32JumpBytes, new_base + e.new_offset)) return false;
  }
  return true;
}

Result<std::string> BuildRedirectedVdso(std::span<const uint8_t> old_image, const VdsoRedirectPlan& plan,
                                        uint64_t old_base, uint64_t new_base) {
  std::string out(reinterpret_cast<const char*>(old_image.data()), old_image.size());
  for (const VdsoEntryFix& e : plan.entries) {
    std::string code;
    switch (e.fix) {
      case VdsoFix::kJump: {
        const uint64_t from_end = old_base + e.old_offset + kRel32JumpBytes;
        const uint64_t to = new_base + e.new_offset;
        if (Rel32Reaches(from_end, to)) {
          code = Bytes({0xe9});
          Put32(code, static_cast<uint32_t>(to - from_end));
        } else if (e.old_size >= kAbsJumpBytes) {
          code = Bytes({0x49, 0xbb});   // movabs r11, imm64 (r11: clobbered by any call anyway)
          Put64(code, to);
          code += Bytes({0x41, 0xff, 0xe3});   // jmp r11
        } else {
          return Unsupported("the dumped vDSO's " + e.name + " (" + std::to_string(e.old_size) +
                             " bytes) cannot reach this kernel's vDSO at " + std::to_string(new_base));
        }
        break;
      }
      case VdsoFix::kSyscall: code = SyscallStub(e.syscall_nr); break;
      case VdsoFix::kGetrandom: code = GetrandomStub(); break;
      case VdsoFix::kNotSupported: code = EnosysStub(); break;
    }
    if (e.old_offset > out.size() || code.size() > out.size() - e.old_offset || code.size() > e.old_size)
      return Corrupt("vDSO image: " + e.name + " lies outside the image");
    std::memcpy(out.data() + e.old_offset, code.data(), code.size());
  }
  return out;
}

}  // namespace stasis::arch
