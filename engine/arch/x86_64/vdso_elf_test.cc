#include "engine/arch/x86_64/vdso_elf.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "engine/arch/x86_64/vdso_test_util.h"

namespace stasis::arch {
namespace {

using testing::FindOwnVdso;

const VdsoSymbol* Find(const std::vector<VdsoSymbol>& syms, const std::string& name) {
  for (const VdsoSymbol& s : syms)
    if (s.name == name) return &s;
  return nullptr;
}

TEST(VdsoElf, ListsTheFunctionsOfTheLiveVdso) {
  const auto own = FindOwnVdso();
  if (own.start == 0) GTEST_SKIP() << "no vDSO";
  auto syms = ListVdsoFunctions(own.bytes());
  ASSERT_TRUE(syms.ok()) << syms.error().message();
  for (const char* name : {"__vdso_clock_gettime", "__vdso_gettimeofday", "__vdso_time", "__vdso_getcpu",
                           "clock_gettime", "gettimeofday", "time", "getcpu"}) {
    const VdsoSymbol* s = Find(*syms, name);
    ASSERT_NE(s, nullptr) << name;
    EXPECT_GT(s->size, 0u) << name;
    EXPECT_LE(s->offset + s->size, own.end - own.start) << name;
    EXPECT_EQ(FindElfSymbolOffset(own.bytes().data(), own.bytes().size(), name), s->offset) << name;
  }
  // The unprefixed names are aliases of the __vdso_ ones.
  EXPECT_EQ(Find(*syms, "clock_gettime")->offset, Find(*syms, "__vdso_clock_gettime")->offset);
  // LINUX_2.6 (the version definition) is an absolute symbol, not a function.
  EXPECT_EQ(Find(*syms, "LINUX_2.6"), nullptr);
  EXPECT_EQ(FindElfSymbolOffset(own.bytes().data(), own.bytes().size(), "__vdso_no_such_symbol"), 0u);
}

TEST(VdsoElf, TruncatedImagesGiveErrorsNotCrashes) {
  const auto own = FindOwnVdso();
  if (own.start == 0) GTEST_SKIP() << "no vDSO";
  const std::vector<uint8_t> image(own.bytes().begin(), own.bytes().end());
  EXPECT_FALSE(ListVdsoFunctions(std::span(image.data(), 63)).ok());   // shorter than the ELF header
  size_t ok = 0;
  for (size_t len = 0; len <= image.size(); len += 8) {
    std::vector<uint8_t> cut(image.begin(), image.begin() + static_cast<ptrdiff_t>(len));   // exact size for ASan
    auto r = ListVdsoFunctions(cut);
    if (r.ok()) ++ok;
    else EXPECT_NE(r.error().message().find("vDSO image: "), std::string::npos);
    (void)FindElfSymbolOffset(cut.data(), cut.size(), "__vdso_clock_gettime");
  }
  EXPECT_GE(ok, 1u);   // at least the whole image
}

TEST(VdsoElf, CorruptedImagesGiveErrorsNotCrashes) {
  const auto own = FindOwnVdso();
  if (own.start == 0) GTEST_SKIP() << "no vDSO";
  const std::vector<uint8_t> image(own.bytes().begin(), own.bytes().end());
  std::mt19937 rng(4711);
  size_t errors = 0;
  for (int round = 0; round < 3000; ++round) {
    std::vector<uint8_t> bad = image;
    // Headers, the dynamic section and the symbol tables live in the first KiB or two.
    const size_t span = std::min<size_t>(bad.size(), 2048);
    for (int n = 0; n < 1 + round % 4; ++n) bad[rng() % span] = static_cast<uint8_t>(rng());
    auto r = ListVdsoFunctions(bad);
    if (!r.ok()) ++errors;
    else
      for (const VdsoSymbol& s : *r) EXPECT_LE(s.offset + s.size, bad.size());
  }
  EXPECT_GT(errors, 0u);
}

TEST(VdsoElf, RejectsGarbage) {
  std::vector<uint8_t> junk(8192, 0xff);
  EXPECT_FALSE(ListVdsoFunctions(junk).ok());
  EXPECT_EQ(FindElfSymbolOffset(junk.data(), junk.size(), "__vdso_clock_gettime"), 0u);
  std::memcpy(junk.data(), "\x7f" "ELF\x02", 5);   // valid magic, absurd offsets everywhere
  auto r = ListVdsoFunctions(junk);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::kCorruption);
  EXPECT_EQ(FindElfSymbolOffset(junk.data(), junk.size(), "__vdso_clock_gettime"), 0u);
  EXPECT_FALSE(ListVdsoFunctions({}).ok());
  std::vector<uint8_t> huge(kMaxVdsoBytes + 1, 0);
  EXPECT_FALSE(ListVdsoFunctions(huge).ok());
}

}  // namespace
}  // namespace stasis::arch
