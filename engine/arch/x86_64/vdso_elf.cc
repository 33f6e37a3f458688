#include "engine/arch/x86_64/vdso_elf.h"

#include <elf.h>

#include <cstring>

namespace stasis::arch {
namespace {

bool InBounds(uint64_t offset, uint64_t length, size_t size) {
  return offset <= size && length <= size - offset;
}

struct DynSym {
  const char* name;
  size_t name_len;
  uint64_t offset;
  uint64_t size;
  unsigned type;
};

// Calls visit(ctx, sym) for every defined dynamic symbol until it returns false. Returns
// nullptr on success, else why the image is unusable. Allocates nothing.
using Visitor = bool (*)(void* ctx, const DynSym& sym);

const char* WalkDynamicSymbols(const unsigned char* image, size_t size, Visitor visit, void* ctx) noexcept {
  Elf64_Ehdr eh;
  if (size > kMaxVdsoBytes) return "larger than any vDSO";
  if (size < sizeof(eh)) return "shorter than an ELF header";
  std::memcpy(&eh, image, sizeof(eh));
  if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0) return "no ELF magic";
  if (eh.e_ident[EI_CLASS] != ELFCLASS64) return "not a 64-bit ELF image";
  if (eh.e_phentsize != sizeof(Elf64_Phdr) ||
      !InBounds(eh.e_phoff, uint64_t{eh.e_phnum} * sizeof(Elf64_Phdr), size))
    return "program headers outside the image";

  // Virtual addresses in the image map to offsets through its first PT_LOAD.
  bool have_load = false, have_dynamic = false;
  Elf64_Phdr load{}, dynamic{};
  for (unsigned i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr ph;
    std::memcpy(&ph, image + eh.e_phoff + i * sizeof(ph), sizeof(ph));
    if (ph.p_type == PT_LOAD && !have_load) load = ph, have_load = true;
    if (ph.p_type == PT_DYNAMIC) dynamic = ph, have_dynamic = true;
  }
  if (!have_load) return "no PT_LOAD segment";
  if (!have_dynamic) return "no PT_DYNAMIC segment";
  if (!InBounds(dynamic.p_offset, dynamic.p_filesz, size)) return "PT_DYNAMIC outside the image";
  auto to_offset = [&](uint64_t vaddr, uint64_t* off) {
    if (vaddr < load.p_vaddr || vaddr - load.p_vaddr > size) return false;
    *off = vaddr - load.p_vaddr + load.p_offset;
    return *off < size;
  };

  uint64_t symtab = 0, strtab = 0, strsz = 0, hash = 0;
  bool has_symtab = false, has_strtab = false, has_hash = false;
  for (uint64_t at = 0; at + sizeof(Elf64_Dyn) <= dynamic.p_filesz; at += sizeof(Elf64_Dyn)) {
    Elf64_Dyn d;
    std::memcpy(&d, image + dynamic.p_offset + at, sizeof(d));
    if (d.d_tag == DT_NULL) break;
    if (d.d_tag == DT_SYMTAB) has_symtab = to_offset(d.d_un.d_ptr, &symtab);
    if (d.d_tag == DT_STRTAB) has_strtab = to_offset(d.d_un.d_ptr, &strtab);
    if (d.d_tag == DT_STRSZ) strsz = d.d_un.d_val;
    if (d.d_tag == DT_HASH) has_hash = to_offset(d.d_un.d_ptr, &hash);
  }
  if (!has_symtab) return "no dynamic symbol table";
  if (!has_strtab || !InBounds(strtab, strsz, size)) return "string table outside the image";

  // DT_HASH's nchain is the symbol count; without it the string table (which follows the
  // symbol table in every vDSO) bounds it.
  uint64_t count = 0;
  if (has_hash && InBounds(hash, 8, size)) {
    uint32_t words[2];
    std::memcpy(words, image + hash, sizeof(words));
    count = words[1];
  } else if (strtab > symtab) {
    count = (strtab - symtab) / sizeof(Elf64_Sym);
  }
  if (count > kMaxVdsoSymbols) return "too many symbols";
  if (!InBounds(symtab, count * sizeof(Elf64_Sym), size)) return "symbol table outside the image";

  for (uint64_t i = 0; i < count; ++i) {
    Elf64_Sym sym;
    std::memcpy(&sym, image + symtab + i * sizeof(sym), sizeof(sym));
    if (sym.st_shndx == SHN_UNDEF || sym.st_shndx == SHN_ABS || sym.st_name >= strsz) continue;
    const auto* name = reinterpret_cast<const char*>(image + strtab + sym.st_name);
    const size_t name_len = strnlen(name, strsz - sym.st_name);
    if (name_len == strsz - sym.st_name) return "a symbol name runs past the string table";
    uint64_t off = 0;
    if (!to_offset(sym.st_value, &off) || !InBounds(off, sym.st_size, size))
      return "a symbol lies outside the image";
    if (!visit(ctx, DynSym{name, name_len, off, sym.st_size, static_cast<unsigned>(ELF64_ST_TYPE(sym.st_info))})) break;
  }
  return nullptr;
}

}  // namespace

Result<std::vector<VdsoSymbol>> ListVdsoFunctions(std::span<const uint8_t> image) {
  std::vector<VdsoSymbol> out;
  const char* bad = WalkDynamicSymbols(
      image.data(), image.size(),
      [](void* ctx, const DynSym& s) {
        if (s.type == STT_FUNC)
          static_cast<std::vector<VdsoSymbol>*>(ctx)->push_back({std::string(s.name, s.name_len), s.offset, s.size});
        return true;
      },
      &out);
  if (bad != nullptr) return Corrupt(std::string("vDSO image: ") + bad);
  return out;
}

uint64_t FindElfSymbolOffset(const unsigned char* image, size_t size, const char* name) noexcept {
  struct Query {
    const char* name;
    size_t len;
    uint64_t found;
  } q{name, std::strlen(name), 0};
  const char* bad = WalkDynamicSymbols(
      image, size,
      [](void* ctx, const DynSym& s) {
        auto* q = static_cast<Query*>(ctx);
        if (s.name_len != q->len || std::memcmp(s.name, q->name, q->len) != 0) return true;
        q->found = s.offset;
        return false;
      },
      &q);
  return bad == nullptr ? q.found : 0;
}

}  // namespace stasis::arch
