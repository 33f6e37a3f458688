// `stasis check`: the table or the JSON report.
#include <cstdio>

#include "engine/check/check.h"
#include "engine/check/feature_cache.h"

namespace stasis::check {
namespace {

void PrintRow(const FeatureProbe& p, const FeatureSpec& spec) {
  std::printf("%-22s %-8s %-9s %s", p.name.c_str(), p.available ? "OK" : "MISSING",
              p.required ? "required" : "optional", p.detail.c_str());
  if (!p.available) std::printf(" [needed for %s]", spec.needed_for);
  std::printf("\n");
}

}  // namespace

int RunCheck(const CheckOptions& options) {
  CacheOptions cache;
  cache.dir = options.cache_dir;
  cache.reprobe = options.no_cache;
  CacheOutcome outcome;
  const KernelFeatures features = LoadOrProbe(cache, &outcome);
  const int exit_code = features.AllRequiredPresent() ? 0 : 1;

  if (options.json) {
    std::fputs(FeaturesToJson(features).c_str(), stdout);
    return exit_code;
  }

  std::printf("kernel %s; %s\n", features.kernel_release().c_str(),
              outcome.from_cache ? ("cached in " + outcome.path + " (--no-cache to probe again)").c_str()
                                 : "probed now");
  if (!outcome.note.empty() && !outcome.from_cache) std::fprintf(stderr, "check: %s\n", outcome.note.c_str());
  std::printf("%-22s %-8s %-9s %s\n", "FEATURE", "STATUS", "", "DETAIL");
  int missing_required = 0, missing_optional = 0, hidden = 0;
  for (size_t i = 0; i < kFeatureCount; ++i) {
    const FeatureProbe& p = features.probes()[i];
    if (!p.available) (p.required ? missing_required : missing_optional)++;
    if (options.all || p.required || !p.available)
      PrintRow(p, Spec(static_cast<Feature>(i)));
    else
      ++hidden;
  }
  if (missing_required == 0)
    std::printf("\nall required features present; %d optional missing", missing_optional);
  else
    std::printf("\n%d REQUIRED feature(s) missing: dump/restore cannot work here; %d optional missing",
                missing_required, missing_optional);
  if (hidden > 0) std::printf(" (%d present optional ones not shown; --all lists them)", hidden);
  std::printf("\n");
  return exit_code;
}

}  // namespace stasis::check
