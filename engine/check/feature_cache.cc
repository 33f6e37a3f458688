// The per-boot cache of probe results in /run/stasis, and ProbeKernel itself.
#include "engine/check/feature_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>

#include "engine/check/probes.h"
#include "engine/common/fd.h"

namespace stasis::check {
namespace {

std::string KernelRelease() {
  utsname u;
  return uname(&u) == 0 ? u.release : "unknown";
}

bool LooksLikeUuid(const std::string& s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

std::string NamespaceInode(const char* name) {
  struct stat st;
  std::string path = std::string("/proc/self/ns/") + name;
  return stat(path.c_str(), &st) == 0 ? std::to_string(st.st_ino) : "none";
}

std::string EffectiveCaps() {
  auto status = ReadFileToString("/proc/self/status", 1 << 20);
  if (!status.ok()) return "unknown";
  size_t at = status->find("CapEff:");
  if (at == std::string::npos) return "unknown";
  size_t start = status->find_first_not_of(" \t", at + 7);
  size_t end = status->find('\n', start);
  return status->substr(start, end == std::string::npos ? std::string::npos : end - start);
}

}  // namespace

Result<CacheKey> CurrentCacheKey() {
  std::string boot_id = STASIS_VALUE(ReadFileToString("/proc/sys/kernel/random/boot_id", 256));
  while (!boot_id.empty() && std::isspace(static_cast<unsigned char>(boot_id.back()))) boot_id.pop_back();
  if (!LooksLikeUuid(boot_id)) return Corrupt("/proc/sys/kernel/random/boot_id: not a UUID");
  CacheKey key;
  key.boot_id = boot_id;
  key.kernel_release = KernelRelease();
  key.context = "euid=" + std::to_string(geteuid()) + " cap_eff=" + EffectiveCaps() +
                " userns=" + NamespaceInode("user") + " pidns=" + NamespaceInode("pid") +
                " netns=" + NamespaceInode("net") + " mntns=" + NamespaceInode("mnt") +
                " cgroupns=" + NamespaceInode("cgroup");
  return key;
}

std::string CachePath(const std::string& dir, const std::string& boot_id) {
  return dir + "/check-" + boot_id + ".json";
}

Status WriteCacheFile(const std::string& dir, const CacheKey& key, const KernelFeatures& features) {
  if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return SysError("mkdir " + dir);
  struct stat st;
  if (lstat(dir.c_str(), &st) != 0) return SysError("stat " + dir);
  if (!S_ISDIR(st.st_mode)) return InvalidArg(dir + ": not a directory");
  // Written beside the final name and renamed, so a reader never sees half a file.
  const std::string path = CachePath(dir, key.boot_id);
  const std::string tmp = path + ".tmp." + std::to_string(getpid());
  UniqueFd fd = STASIS_VALUE(OpenFile(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0644));
  const std::string json = CacheToJson(features, key);
  Status w = WriteAll(fd.get(), json.data(), json.size(), tmp);
  fd.reset();
  if (w.ok() && rename(tmp.c_str(), path.c_str()) != 0) w = SysError("rename to " + path);
  if (!w.ok()) unlink(tmp.c_str());
  return w;
}

KernelFeatures LoadOrProbeWith(const CacheOptions& options, const CacheKey* key,
                               const std::function<KernelFeatures()>& probe, CacheOutcome* outcome) {
  CacheOutcome local;
  CacheOutcome& out = outcome ? *outcome : local;
  out = CacheOutcome{};
  if (key == nullptr) {
    out.note = "no boot id: results not cached";
    return probe();
  }
  const std::string path = CachePath(options.dir, key->boot_id);
  if (!options.reprobe) {
    auto bytes = ReadFileToString(path, kMaxCacheBytes);
    if (bytes.ok()) {
      auto cached = FeaturesFromCacheJson(*bytes, *key);
      if (cached.ok()) {
        out.from_cache = true;
        out.path = path;
        return std::move(cached).value();
      }
      out.note = path + ": " + cached.error().message();
    } else if (bytes.error().sys_errno() != ENOENT) {
      out.note = bytes.error().message();
    }
  }
  KernelFeatures fresh = probe();
  Status w = WriteCacheFile(options.dir, *key, fresh);
  if (w.ok()) {
    out.path = path;
  } else {
    out.note += (out.note.empty() ? "" : "; ") + std::string("not cached: ") + w.error().message();
  }
  return fresh;
}

KernelFeatures ProbeKernel() {
  std::vector<FeatureProbe> all;
  for (const ProbeGroup& group : AllProbeGroups()) {
    std::vector<FeatureProbe> got = RunProbeGroup(group);
    all.insert(all.end(), got.begin(), got.end());
  }
  return KernelFeatures(KernelRelease(), all);
}

KernelFeatures LoadOrProbe(const CacheOptions& options, CacheOutcome* outcome) {
  auto key = CurrentCacheKey();
  return LoadOrProbeWith(options, key.ok() ? &key.value() : nullptr, ProbeKernel, outcome);
}

}  // namespace stasis::check
