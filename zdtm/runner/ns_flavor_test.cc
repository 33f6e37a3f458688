#include "zdtm/runner/ns_flavor.h"

#include <gtest/gtest.h>

namespace zdtm::runner {
namespace {

TEST(NsFlavor, ParsesFlavorLists) {
  std::vector<std::string> f;
  std::string error;
  ASSERT_TRUE(ParseFlavorList("h ns", &f, &error));
  EXPECT_EQ(f, (std::vector<std::string>{"h", "ns"}));
  ASSERT_TRUE(ParseFlavorList("ns,h", &f, &error));
  EXPECT_EQ(f, (std::vector<std::string>{"ns", "h"}));
  ASSERT_TRUE(ParseFlavorList("ns", &f, &error));
  EXPECT_EQ(f, std::vector<std::string>{"ns"});
  EXPECT_FALSE(ParseFlavorList("vm", &f, &error));
  EXPECT_NE(error.find("vm"), std::string::npos);
  EXPECT_FALSE(ParseFlavorList("h h", &f, &error));
  EXPECT_FALSE(ParseFlavorList(" ", &f, &error));
}

TEST(NsFlavor, LaunchesTheTestUnderTheInit) {
  const auto argv = NsLaunchArgv("/w/t.pid.init", {"/t/test", "--pidfile=/w/t.pid"});
  ASSERT_EQ(argv.size(), 4u);
  EXPECT_NE(argv[0].find("zdtm-ns-init"), std::string::npos);
  EXPECT_EQ(argv[1], "/w/t.pid.init");
  EXPECT_EQ(argv[2], "/t/test");
}

}  // namespace
}  // namespace zdtm::runner
