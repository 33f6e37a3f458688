// CRC-32C, the checksum of every image: published vectors, and the SSE4.2 path against a
// bit-at-a-time reference for every length, alignment and chaining.
#include "engine/common/crc32c.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "engine/arch/crc32c_arch.h"

namespace stasis {
namespace {

// The definition, one bit at a time: slow and obviously right.
uint32_t ReferenceCrc32c(uint32_t crc, const void* data, size_t size) {
  const auto* p = static_cast<const uint8_t*>(data);
  crc = ~crc;
  for (size_t i = 0; i < size; ++i) {
    crc ^= p[i];
    for (int k = 0; k < 8; ++k) crc = (crc & 1) ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
  }
  return ~crc;
}

TEST(Crc32c, KnownVectors) {
  EXPECT_EQ(Crc32c(0, "", 0), 0u);
  EXPECT_EQ(Crc32c(0, "123456789", 9), 0xE3069283u);
  EXPECT_EQ(Crc32c(0, "a", 1), 0xC1D04330u);
  // RFC 3720 (iSCSI) appendix B.4.
  uint8_t buf[32];
  std::memset(buf, 0, sizeof buf);
  EXPECT_EQ(Crc32c(0, buf, sizeof buf), 0x8A9136AAu);
  std::memset(buf, 0xFF, sizeof buf);
  EXPECT_EQ(Crc32c(0, buf, sizeof buf), 0x62A8AB43u);
  for (int i = 0; i < 32; ++i) buf[i] = static_cast<uint8_t>(i);
  EXPECT_EQ(Crc32c(0, buf, sizeof buf), 0x46DD794Eu);
  for (int i = 0; i < 32; ++i) buf[i] = static_cast<uint8_t>(31 - i);
  EXPECT_EQ(Crc32c(0, buf, sizeof buf), 0x113FDB5Cu);
}

TEST(Crc32c, ReferenceAgreesWithKnownVector) {
  EXPECT_EQ(ReferenceCrc32c(0, "123456789", 9), 0xE3069283u);
}

TEST(Crc32c, ChainingEqualsOneCall) {
  const std::string s = "The quick brown fox jumps over the lazy dog, twice over and once more.";
  const uint32_t whole = Crc32c(0, s.data(), s.size());
  for (size_t cut = 0; cut <= s.size(); ++cut)
    EXPECT_EQ(Crc32c(Crc32c(0, s.data(), cut), s.data() + cut, s.size() - cut), whole) << cut;
}

TEST(Crc32c, MatchesReferenceOnEveryLengthAndAlignment) {
  std::mt19937 rng(12345);
  std::vector<uint8_t> data(4096 + 64);
  for (auto& b : data) b = static_cast<uint8_t>(rng());
  for (size_t align = 0; align < 8; ++align)
    for (size_t len = 0; len < 80; ++len)
      ASSERT_EQ(Crc32c(0, data.data() + align, len), ReferenceCrc32c(0, data.data() + align, len))
          << "align " << align << " len " << len;
  EXPECT_EQ(Crc32c(0x1234, data.data(), 4096), ReferenceCrc32c(0x1234, data.data(), 4096));
}

TEST(Crc32c, HardwareMatchesSoftware) {
  if (!arch::HaveCrc32cInstruction()) GTEST_SKIP() << "no CRC32 instruction on this CPU";
  std::mt19937 rng(777);
  std::vector<uint8_t> data(9000);
  for (auto& b : data) b = static_cast<uint8_t>(rng());
  for (size_t len : {0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 4095, 4096, 4097, 9000})
    for (size_t align : {0, 1, 3, 5}) {
      if (align + len > data.size()) continue;
      for (uint32_t seed : {0u, 0xFFFFFFFFu, 0xE3069283u})
        ASSERT_EQ(arch::Crc32cInstruction(seed, data.data() + align, len),
                  ReferenceCrc32c(seed, data.data() + align, len))
            << "len " << len << " align " << align << " seed " << seed;
    }
}

}  // namespace
}  // namespace stasis
