// The JSON form of a KernelFeatures value and the per-boot cache file that holds it.
// Split from the CLI so the cache logic can be tested without probing.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "engine/check/check.h"
#include "engine/common/error.h"

namespace stasis::check {

inline constexpr int kCacheFormat = 1;
inline constexpr size_t kMaxCacheBytes = 1u << 20;

// What the cached probe results depend on besides the kernel itself: a result probed as root
// in the host's namespaces says nothing about an unprivileged run or one inside a container.
struct CacheKey {
  std::string boot_id;         // /proc/sys/kernel/random/boot_id
  std::string kernel_release;  // uname -r
  std::string context;         // euid, effective capabilities, namespace inodes
};

// The key of this process, or an error if the boot id is unreadable or not a UUID.
Result<CacheKey> CurrentCacheKey();

std::string CachePath(const std::string& dir, const std::string& boot_id);

// `stasis check --json`: {"kernel": ..., "features": {name: {"available", "required", "detail"}}}.
std::string FeaturesToJson(const KernelFeatures& features);
// The cache file: the same object plus "cache": {"format", "boot_id", "context"}.
std::string CacheToJson(const KernelFeatures& features, const CacheKey& key);
// Parses a cache file. Fails with the reason unless it is well-formed, matches `key` exactly
// and holds every feature this build knows (a build with new probes must probe again).
Result<KernelFeatures> FeaturesFromCacheJson(std::string_view json, const CacheKey& key);

Status WriteCacheFile(const std::string& dir, const CacheKey& key, const KernelFeatures& features);

// LoadOrProbe with its inputs spelled out; `key` null means no cache can be used.
KernelFeatures LoadOrProbeWith(const CacheOptions& options, const CacheKey* key,
                               const std::function<KernelFeatures()>& probe, CacheOutcome* outcome);

}  // namespace stasis::check
