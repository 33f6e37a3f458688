#include "engine/check/vdso_symbols.h"

#include <elf.h>

#include <cstring>

namespace stasis::check {
namespace {

bool InBounds(uint64_t offset, uint64_t length, size_t size) {
  return offset <= size && length <= size - offset;
}

}  // namespace

uint64_t FindElfSymbolOffset(const unsigned char* image, size_t size, const char* name) noexcept {
  Elf64_Ehdr eh;
  if (size < sizeof(eh)) return 0;
  std::memcpy(&eh, image, sizeof(eh));
  if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64) return 0;
  if (eh.e_phentsize != sizeof(Elf64_Phdr) ||
      !InBounds(eh.e_phoff, uint64_t{eh.e_phnum} * sizeof(Elf64_Phdr), size))
    return 0;

  // Virtual addresses in the image map to offsets through its first PT_LOAD.
  bool have_load = false, have_dynamic = false;
  Elf64_Phdr load{}, dynamic{};
  for (unsigned i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr ph;
    std::memcpy(&ph, image + eh.e_phoff + i * sizeof(ph), sizeof(ph));
    if (ph.p_type == PT_LOAD && !have_load) load = ph, have_load = true;
    if (ph.p_type == PT_DYNAMIC) dynamic = ph, have_dynamic = true;
  }
  if (!have_load || !have_dynamic || !InBounds(dynamic.p_offset, dynamic.p_filesz, size)) return 0;
  auto to_offset = [&](uint64_t vaddr, uint64_t* off) {
    if (vaddr < load.p_vaddr) return false;
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
  if (!has_symtab || !has_strtab || !InBounds(strtab, strsz, size)) return 0;

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
  if (!InBounds(symtab, count * sizeof(Elf64_Sym), size)) return 0;

  const size_t name_len = std::strlen(name);
  for (uint64_t i = 0; i < count; ++i) {
    Elf64_Sym sym;
    std::memcpy(&sym, image + symtab + i * sizeof(sym), sizeof(sym));
    if (sym.st_shndx == SHN_UNDEF || sym.st_name >= strsz) continue;
    if (strsz - sym.st_name <= name_len) continue;
    const unsigned char* s = image + strtab + sym.st_name;
    if (std::memcmp(s, name, name_len) != 0 || s[name_len] != '\0') continue;
    uint64_t off = 0;
    return to_offset(sym.st_value, &off) ? off : 0;
  }
  return 0;
}

}  // namespace stasis::check
