#include "engine/proc/ns_ids.h"

#include <gtest/gtest.h>

namespace stasis::proc {
namespace {

TEST(NsIds, ParsesEveryLevel) {
  const char* status = "Name:\tx\nNStgid:\t42\t1\nNSpid:\t42\t1\nNSpgid:\t40\t0\nNSsid:\t7\n";
  EXPECT_EQ(ParseNsIdLine(status, "NSpid"), (std::vector<uint32_t>{42, 1}));
  EXPECT_EQ(ParseNsIdLine(status, "NSpgid"), (std::vector<uint32_t>{40, 0}));
  EXPECT_EQ(ParseNsIdLine(status, "NSsid"), (std::vector<uint32_t>{7}));
}

TEST(NsIds, MissingOrMalformedIsEmpty) {
  EXPECT_TRUE(ParseNsIdLine("Name:\tx\n", "NSpid").empty());
  EXPECT_TRUE(ParseNsIdLine("NSpid:\t42\tx1\n", "NSpid").empty());
  EXPECT_TRUE(ParseNsIdLine("NSpid:\t99999999999\n", "NSpid").empty());
  EXPECT_TRUE(ParseNsIdLine("NSpidx:\t4\n", "NSpid").empty());
}

}  // namespace
}  // namespace stasis::proc
