#include "zdtm/runner/features.h"

#include <gtest/gtest.h>

namespace zdtm::runner {
namespace {

TEST(ParseCheckJson, FeaturesObjectOfObjects) {
  std::map<std::string, bool> f;
  std::string error;
  ASSERT_TRUE(ParseCheckJson(R"({"kernel": "6.18", "features": {
      "rseq": {"available": true, "required": false, "detail": "ok \"quoted\""},
      "soft_dirty": {"available": false, "required": false, "detail": "no"}}})",
                             &f, &error))
      << error;
  EXPECT_EQ(f, (std::map<std::string, bool>{{"rseq", true}, {"soft_dirty", false}}));
}

TEST(ParseCheckJson, ListOfNamedEntries) {
  std::map<std::string, bool> f;
  std::string error;
  ASSERT_TRUE(ParseCheckJson(R"([{"name": "kcmp", "available": true}, {"name": "mseal", "available": false, "n": -1.5e3}])", &f, &error));
  EXPECT_EQ(f, (std::map<std::string, bool>{{"kcmp", true}, {"mseal", false}}));
}

TEST(ParseCheckJson, RejectsMalformed) {
  for (const char* bad : {"", "{", "check: not built yet", "{\"features\": {}}", "[1, 2", "{\"a\" 1}", "{} x"}) {
    std::map<std::string, bool> f;
    std::string error;
    EXPECT_FALSE(ParseCheckJson(bad, &f, &error)) << bad;
    EXPECT_FALSE(error.empty());
  }
}

TEST(ParseCheckJson, DeepNestingIsAnErrorNotACrash) {
  std::map<std::string, bool> f;
  std::string error;
  EXPECT_FALSE(ParseCheckJson(std::string(100000, '['), &f, &error));
}

TEST(MissingFeatures, NamesWhatIsMissing) {
  KernelFeatures k;
  k.probed = true;
  k.available = {{"rseq", true}, {"mseal", false}};
  EXPECT_EQ(MissingFeatures(k, {"rseq"}), "");
  EXPECT_EQ(MissingFeatures(k, {"rseq", "mseal", "warp"}), "kernel lacks mseal, unknown feature warp");
  KernelFeatures unprobed;
  unprobed.error = "boom";
  EXPECT_EQ(MissingFeatures(unprobed, {}), "");
  EXPECT_EQ(MissingFeatures(unprobed, {"rseq"}), "cannot check features: boom");
}

}  // namespace
}  // namespace zdtm::runner
