#include "engine/proc/auxv.h"

#include <elf.h>
#include <gtest/gtest.h>

#include <cstring>

#include "engine/proc/pid_list.h"

namespace stasis::proc {
namespace {

std::vector<uint8_t> Bytes(std::initializer_list<uint64_t> words) {
  std::vector<uint8_t> out(words.size() * 8);
  size_t i = 0;
  for (uint64_t w : words) std::memcpy(out.data() + 8 * i++, &w, 8);
  return out;
}

TEST(ParseAuxv, PairsUpToAtNull) {
  auto b = Bytes({AT_PAGESZ, 4096, AT_PHDR, 0x55a5ae547040, AT_NULL, 0, 0xdead, 0xbeef});
  auto r = ParseAuxv(b);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(*r, (std::vector<uint64_t>{AT_PAGESZ, 4096, AT_PHDR, 0x55a5ae547040, AT_NULL, 0}));
}

TEST(ParseAuxv, OwnProcess) {
  FILE* f = std::fopen("/proc/self/auxv", "re");
  ASSERT_NE(f, nullptr);
  std::vector<uint8_t> b(4096);
  b.resize(std::fread(b.data(), 1, b.size(), f));
  std::fclose(f);
  auto r = ParseAuxv(b);
  ASSERT_TRUE(r.ok()) << r.error().message();
  bool found_pagesz = false;
  for (size_t i = 0; i + 1 < r->size(); i += 2)
    if ((*r)[i] == AT_PAGESZ) found_pagesz = (*r)[i + 1] == 4096;
  EXPECT_TRUE(found_pagesz);
}

TEST(ParseAuxv, RejectsMalformed) {
  EXPECT_FALSE(ParseAuxv(Bytes({})).ok());
  EXPECT_FALSE(ParseAuxv(Bytes({AT_PAGESZ, 4096})).ok());   // no AT_NULL
  auto odd = Bytes({AT_PAGESZ, 4096, AT_NULL});              // AT_NULL pair cut short
  EXPECT_FALSE(ParseAuxv(odd).ok());
  std::vector<uint64_t> many(2 * 1000, 7);
  std::vector<uint8_t> big(many.size() * 8);
  std::memcpy(big.data(), many.data(), big.size());
  EXPECT_FALSE(ParseAuxv(big).ok());
}

TEST(ParsePidList, ChildrenFile) {
  auto r = ParsePidList("42 4711 9 ");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, (std::vector<pid_t>{42, 4711, 9}));
  EXPECT_TRUE(ParsePidList("")->empty());
  EXPECT_TRUE(ParsePidList("\n")->empty());
  EXPECT_FALSE(ParsePidList("42 x").ok());
  EXPECT_FALSE(ParsePidList("0").ok());
  EXPECT_FALSE(ParsePidList("-3").ok());
  EXPECT_FALSE(ParsePidList("99999999999").ok());
}

}  // namespace
}  // namespace stasis::proc
