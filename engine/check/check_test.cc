#include <gtest/gtest.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <sys/auxv.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include "engine/check/check.h"
#include "engine/check/feature_cache.h"
#include "engine/check/probe_runner.h"
#include "engine/check/probes.h"

namespace stasis::check {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

std::vector<FeatureProbe> FakeProbes(bool all_available) {
  std::vector<FeatureProbe> probes;
  for (size_t i = 0; i < kFeatureCount; ++i) {
    const FeatureSpec& s = Spec(static_cast<Feature>(i));
    probes.push_back({s.name, all_available || i % 3 != 0, s.required, std::string("detail of ") + s.name});
  }
  return probes;
}

CacheKey TestKey() {
  return {"8b0e129a-2fe9-4ec8-9eaf-c9eadadae147", "6.18.0-test", "euid=0 cap_eff=1ff"};
}

Struct ParseJson(const std::string& json) {
  Struct s;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &s).ok()) << json;
  return s;
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/stasis-check-test-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(FeatureTable, NamesAreUniqueAndRequiredOnesComeFirst) {
  std::set<std::string> names;
  bool seen_optional = false;
  for (size_t i = 0; i < kFeatureCount; ++i) {
    const FeatureSpec& s = Spec(static_cast<Feature>(i));
    EXPECT_TRUE(names.insert(s.name).second) << s.name;
    EXPECT_EQ(FeatureByName(s.name), s.feature);
    if (!s.required) seen_optional = true;
    EXPECT_FALSE(s.required && seen_optional) << s.name << " is required but listed after optional ones";
  }
  EXPECT_FALSE(FeatureByName("no_such_feature").has_value());
}

TEST(FeatureTable, EveryFeatureIsProbedByExactlyOneGroup) {
  std::vector<int> count(kFeatureCount, 0);
  for (const ProbeGroup& g : AllProbeGroups()) {
    EXPECT_GT(g.timeout_ms, 0) << g.name;
    for (Feature f : g.features) ++count[static_cast<size_t>(f)];
  }
  for (size_t i = 0; i < kFeatureCount; ++i) EXPECT_EQ(count[i], 1) << Spec(static_cast<Feature>(i)).name;
}

TEST(KernelFeatures, FillsGapsAndIgnoresUnknownNames) {
  KernelFeatures kf("6.18", {{"clone3_set_tid", true, true, "ok"}, {"from_the_future", true, false, "?"}});
  EXPECT_TRUE(kf.Has(Feature::kClone3SetTid));
  EXPECT_FALSE(kf.Has(Feature::kSoftDirty));
  EXPECT_EQ(kf.Get(Feature::kSoftDirty).detail, "not probed");
  EXPECT_TRUE(kf.Get(Feature::kPtraceSeize).required);  // the table decides, not the input
  EXPECT_FALSE(kf.AllRequiredPresent());
}

TEST(KernelFeatures, RequireNamesTheFeatureAndWhy) {
  KernelFeatures kf("6.18", {{"soft_dirty", false, false, "bit 55 never set"}, {"rseq", true, false, "ok"}});
  EXPECT_TRUE(kf.Require(Feature::kRseq, "restore").ok());
  Status s = kf.Require(Feature::kSoftDirty, "pre-dump");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().kind(), ErrorKind::kNotSupported);
  EXPECT_EQ(s.error().message(), "pre-dump: soft_dirty is not supported on this kernel (bit 55 never set)");
}

TEST(CheckJson, HasTheDocumentedShape) {
  KernelFeatures kf("6.18.0-test", FakeProbes(false));
  Struct root = ParseJson(FeaturesToJson(kf));
  ASSERT_EQ(root.fields().size(), 2u);
  ASSERT_EQ(root.fields().at("kernel").string_value(), "6.18.0-test");
  const Struct& features = root.fields().at("features").struct_value();
  ASSERT_EQ(features.fields().size(), kFeatureCount);
  for (size_t i = 0; i < kFeatureCount; ++i) {
    const FeatureSpec& s = Spec(static_cast<Feature>(i));
    ASSERT_TRUE(features.fields().count(s.name)) << s.name;
    const Struct& f = features.fields().at(s.name).struct_value();
    EXPECT_EQ(f.fields().size(), 3u);
    EXPECT_EQ(f.fields().at("available").kind_case(), Value::kBoolValue);
    EXPECT_EQ(f.fields().at("available").bool_value(), kf.Has(s.feature));
    EXPECT_EQ(f.fields().at("required").bool_value(), s.required);
    EXPECT_EQ(f.fields().at("detail").string_value(), std::string("detail of ") + s.name);
  }
}

TEST(CheckJson, EscapesDetails) {
  std::vector<FeatureProbe> probes = FakeProbes(true);
  probes[0].detail = "quote \" backslash \\ newline \n tab \t bell \a";
  KernelFeatures kf("6.18.0-test", probes);
  Struct root = ParseJson(FeaturesToJson(kf));
  EXPECT_EQ(root.fields().at("features").struct_value().fields().at(probes[0].name).struct_value()
                .fields().at("detail").string_value(),
            probes[0].detail);
}

TEST(CacheJson, RoundTrips) {
  KernelFeatures kf("6.18.0-test", FakeProbes(false));
  auto back = FeaturesFromCacheJson(CacheToJson(kf, TestKey()), TestKey());
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_EQ(back->kernel_release(), "6.18.0-test");
  for (size_t i = 0; i < kFeatureCount; ++i) {
    EXPECT_EQ(back->probes()[i].available, kf.probes()[i].available);
    EXPECT_EQ(back->probes()[i].detail, kf.probes()[i].detail);
  }
}

TEST(CacheJson, RefusesAnotherBootKernelOrContext) {
  const std::string json = CacheToJson(KernelFeatures("6.18.0-test", FakeProbes(true)), TestKey());
  CacheKey other_boot = TestKey();
  other_boot.boot_id = "00000000-0000-0000-0000-000000000000";
  CacheKey other_kernel = TestKey();
  other_kernel.kernel_release = "6.1.0";
  CacheKey other_context = TestKey();
  other_context.context = "euid=1000 cap_eff=0";
  auto a = FeaturesFromCacheJson(json, other_boot);
  auto b = FeaturesFromCacheJson(json, other_kernel);
  auto c = FeaturesFromCacheJson(json, other_context);
  ASSERT_FALSE(a.ok());
  ASSERT_FALSE(b.ok());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(a.error().message(), "written during another boot");
  EXPECT_EQ(b.error().message(), "written by another kernel");
  EXPECT_NE(c.error().message().find("other credentials"), std::string::npos);
}

TEST(CacheJson, RefusesMalformedFiles) {
  const CacheKey key = TestKey();
  std::string good = CacheToJson(KernelFeatures("6.18.0-test", FakeProbes(true)), key);
  std::string missing_feature = good;
  missing_feature.replace(missing_feature.find("\"rseq\""), 6, "\"rsex\"");
  std::string wrong_type = good;
  size_t at = wrong_type.find("\"available\": true");
  wrong_type.replace(at, 17, "\"available\": \"yes\"");
  std::string wrong_format = good;
  wrong_format.replace(wrong_format.find("\"format\": 1"), 11, "\"format\": 2");

  for (const std::string& bad : {std::string(""), std::string("{"), std::string("[]"),
                                 std::string("{\"kernel\": 1}"), good.substr(0, good.size() / 2),
                                 missing_feature, wrong_type, wrong_format,
                                 std::string(kMaxCacheBytes + 1, ' ')}) {
    auto r = FeaturesFromCacheJson(bad, key);
    EXPECT_FALSE(r.ok()) << bad.substr(0, 200);
  }
  auto r = FeaturesFromCacheJson(missing_feature, key);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "feature rseq missing");
}

TEST(Cache, ProbesOnceThenReusesUntilAskedAgain) {
  TempDir dir;
  CacheOptions options;
  options.dir = dir.path() + "/run-stasis";  // created on demand
  const CacheKey key = TestKey();
  int probes = 0;
  auto probe = [&] {
    ++probes;
    return KernelFeatures("6.18.0-test", FakeProbes(probes == 1));
  };
  CacheOutcome outcome;
  KernelFeatures first = LoadOrProbeWith(options, &key, probe, &outcome);
  EXPECT_EQ(probes, 1);
  EXPECT_FALSE(outcome.from_cache);
  EXPECT_EQ(outcome.path, CachePath(options.dir, key.boot_id));
  EXPECT_TRUE(std::filesystem::exists(outcome.path));
  EXPECT_EQ(std::filesystem::status(outcome.path).permissions() & std::filesystem::perms::all,
            std::filesystem::perms(0644));

  KernelFeatures second = LoadOrProbeWith(options, &key, probe, &outcome);
  EXPECT_EQ(probes, 1);
  EXPECT_TRUE(outcome.from_cache);
  EXPECT_TRUE(second.Has(Feature::kSoftDirty));  // the first probe's answer, from the file

  options.reprobe = true;
  KernelFeatures third = LoadOrProbeWith(options, &key, probe, &outcome);
  EXPECT_EQ(probes, 2);
  EXPECT_FALSE(outcome.from_cache);
  EXPECT_FALSE(third.Has(Feature::kSoftDirty));

  options.reprobe = false;  // the rewritten file now holds the second probe's answer
  KernelFeatures fourth = LoadOrProbeWith(options, &key, probe, &outcome);
  EXPECT_EQ(probes, 2);
  EXPECT_FALSE(fourth.Has(Feature::kSoftDirty));
}

TEST(Cache, CorruptOrForeignFilesAreReplaced) {
  TempDir dir;
  CacheOptions options;
  options.dir = dir.path();
  const CacheKey key = TestKey();
  int probes = 0;
  auto probe = [&] {
    ++probes;
    return KernelFeatures("6.18.0-test", FakeProbes(true));
  };
  std::ofstream(CachePath(dir.path(), key.boot_id)) << "{ not json";
  CacheOutcome outcome;
  LoadOrProbeWith(options, &key, probe, &outcome);
  EXPECT_EQ(probes, 1);
  EXPECT_NE(outcome.note.find("not valid JSON"), std::string::npos) << outcome.note;

  CacheKey other = key;
  other.context = "euid=1000";
  LoadOrProbeWith(options, &other, probe, &outcome);
  EXPECT_EQ(probes, 2);
  EXPECT_FALSE(outcome.from_cache);
  LoadOrProbeWith(options, &other, probe, &outcome);
  EXPECT_EQ(probes, 2);
  EXPECT_TRUE(outcome.from_cache);
}

TEST(Cache, UnusableDirectoryOnlyCostsAProbe) {
  TempDir dir;
  const std::string file = dir.path() + "/plain-file";
  std::ofstream(file) << "x";
  CacheOptions options;
  options.dir = file;  // a file, not a directory
  const CacheKey key = TestKey();
  int probes = 0;
  auto probe = [&] {
    ++probes;
    return KernelFeatures("6.18.0-test", FakeProbes(true));
  };
  CacheOutcome outcome;
  KernelFeatures kf = LoadOrProbeWith(options, &key, probe, &outcome);
  EXPECT_TRUE(kf.AllRequiredPresent());
  EXPECT_TRUE(outcome.path.empty());
  EXPECT_NE(outcome.note.find("not cached"), std::string::npos) << outcome.note;

  LoadOrProbeWith(options, nullptr, probe, &outcome);  // no boot id
  EXPECT_EQ(probes, 2);
  EXPECT_FALSE(outcome.from_cache);
}

TEST(CacheKey, ThisProcessHasOne) {
  auto key = CurrentCacheKey();
  ASSERT_TRUE(key.ok()) << key.error().message();
  EXPECT_EQ(key->boot_id.size(), 36u);
  EXPECT_FALSE(key->kernel_release.empty());
  EXPECT_NE(key->context.find("euid="), std::string::npos);
  EXPECT_EQ(CachePath("/run/stasis", key->boot_id), "/run/stasis/check-" + key->boot_id + ".json");
}

void ReportsTwo(ProbeReport& r) noexcept {
  r.Ok(Feature::kRseq, "fine %d", 42);
  r.Missing(Feature::kMseal, "absent");
}
void Crashes(ProbeReport& r) noexcept {
  r.Ok(Feature::kRseq, "before the crash");
  std::abort();
}
void Hangs(ProbeReport&) noexcept {
  for (;;) pause();
}

TEST(ProbeRunner, TakesOnlyDeclaredSlots) {
  auto got = RunProbeGroup({"t", ReportsTwo, {Feature::kRseq, Feature::kMemfdCreate}, 2000});
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].name, "rseq");
  EXPECT_TRUE(got[0].available);
  EXPECT_EQ(got[0].detail, "fine 42");
  EXPECT_EQ(got[1].name, "memfd_create");
  EXPECT_FALSE(got[1].available);
  EXPECT_EQ(got[1].detail, "probe did not report");
}

TEST(ProbeRunner, KeepsWhatACrashedProbeReported) {
  auto got = RunProbeGroup({"t", Crashes, {Feature::kRseq, Feature::kMseal}, 2000});
  ASSERT_EQ(got.size(), 2u);
  EXPECT_TRUE(got[0].available);
  EXPECT_FALSE(got[1].available);
  EXPECT_NE(got[1].detail.find("probe crashed"), std::string::npos) << got[1].detail;
}

TEST(ProbeRunner, BoundsAHangingProbe) {
  auto got = RunProbeGroup({"t", Hangs, {Feature::kRseq}, 100});
  ASSERT_EQ(got.size(), 1u);
  EXPECT_FALSE(got[0].available);
  EXPECT_EQ(got[0].detail, "probe timed out after 100 ms");
}

}  // namespace
}  // namespace stasis::check
