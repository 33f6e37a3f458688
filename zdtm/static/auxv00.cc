// The auxiliary vector survives: /proc/self/auxv reads the same bytes, and getauxval() gives
// the same page size, AT_RANDOM bytes, AT_EXECFN string, hwcaps, entry point and vDSO address.
#include <sys/auxv.h>

#include <cstring>
#include <string>

#include "zdtm/lib/self_proc.h"
#include "zdtm/lib/zdtm.h"

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  const unsigned long types[] = {AT_PAGESZ, AT_HWCAP, AT_HWCAP2, AT_CLKTCK, AT_PHDR, AT_PHNUM, AT_ENTRY,
                                 AT_SYSINFO_EHDR, AT_RANDOM, AT_EXECFN, AT_PLATFORM, AT_MINSIGSTKSZ, AT_SECURE};
  unsigned long before[std::size(types)];
  for (size_t i = 0; i < std::size(types); ++i) before[i] = getauxval(types[i]);
  unsigned char random[16];
  std::memcpy(random, reinterpret_cast<const void*>(getauxval(AT_RANDOM)), sizeof(random));
  const std::string execfn = reinterpret_cast<const char*>(getauxval(AT_EXECFN));
  const auto auxv = zdtm::ReadWholeFile("/proc/self/auxv");
  if (!auxv || auxv->empty()) t.Fail("cannot read /proc/self/auxv");

  t.Ready();
  t.WaitForTerm();

  for (size_t i = 0; i < std::size(types); ++i)
    if (getauxval(types[i]) != before[i]) t.Fail("auxv type %lu is %#lx, was %#lx", types[i], getauxval(types[i]), before[i]);
  if (std::memcmp(random, reinterpret_cast<const void*>(getauxval(AT_RANDOM)), sizeof(random)) != 0) t.Fail("AT_RANDOM bytes changed");
  if (execfn != reinterpret_cast<const char*>(getauxval(AT_EXECFN))) t.Fail("AT_EXECFN string changed");
  auto now = zdtm::ReadWholeFile("/proc/self/auxv");
  if (!now || *now != *auxv) t.Fail("/proc/self/auxv changed");
  if (getauxval(AT_PAGESZ) != 4096) t.Fail("AT_PAGESZ is %lu", getauxval(AT_PAGESZ));
  t.Pass();
}
