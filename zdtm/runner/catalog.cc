#include "zdtm/runner/catalog.h"

#include <dirent.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

namespace zdtm::runner {
namespace {

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

std::vector<std::string> Words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  std::string w;
  while (in >> w) out.push_back(w);
  return out;
}

bool IsExecutableFile(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(path.c_str(), X_OK) == 0;
}

}  // namespace

bool ParseDesc(const std::string& file_name, const std::string& text, TestSpec* spec,
               std::string* error) {
  std::istringstream in(text);
  std::string line;
  int line_no = 0;
  bool flavors_seen = false;
  auto bad = [&](const std::string& why) {
    *error = file_name + ":" + std::to_string(line_no) + ": " + why;
    return false;
  };
  while (std::getline(in, line)) {
    ++line_no;
    std::string t = Trim(line);
    if (t.empty() || t[0] == '#') continue;
    size_t colon = t.find(':');
    if (colon == std::string::npos) return bad("expected 'key: value'");
    std::string key = Trim(t.substr(0, colon));
    std::string value = Trim(t.substr(colon + 1));
    if (key == "needs") {
      for (const std::string& w : Words(value)) {
        if (w != "root") return bad("unknown need '" + w + "' (known: root)");
        spec->needs_root = true;
      }
    } else if (key == "features") {
      for (const std::string& w : Words(value)) spec->features.push_back(w);
    } else if (key == "known-fail") {
      size_t c2 = value.find(':');
      if (c2 == std::string::npos || Trim(value.substr(0, c2)).empty() || Trim(value.substr(c2 + 1)).empty())
        return bad("known-fail needs '<kernel-glob>: <reason>'");
      std::string glob = Trim(value.substr(0, c2)), dump_glob, restore_glob;
      if (glob.find("->") != std::string::npos &&
          (!SplitPairGlob(glob, &dump_glob, &restore_glob) || dump_glob.empty() || restore_glob.empty()))
        return bad("a pair glob is '<dump-kernel-glob>-><restore-kernel-glob>', got '" + glob + "'");
      spec->known_failures.push_back({glob, Trim(value.substr(c2 + 1))});
    } else if (key == "expect-refusal") {
      size_t c2 = value.find(':');
      std::string feature = c2 == std::string::npos ? "" : Trim(value.substr(0, c2));
      if (feature.empty() || feature.find_first_of(" \t") != std::string::npos ||
          Trim(value.substr(c2 + 1)).empty())
        return bad("expect-refusal needs '<feature>: <text of the restore error>'");
      spec->expected_refusals.push_back({feature, Trim(value.substr(c2 + 1))});
    } else if (key == "flavors") {
      if (!flavors_seen) spec->flavors.clear();
      flavors_seen = true;
      for (const std::string& w : Words(value)) {
        if (w != "h" && w != "ns") return bad("unknown flavor '" + w + "' (known: h ns)");
        spec->flavors.push_back(w);
      }
    } else if (key == "timeout") {
      char* end = nullptr;
      long v = std::strtol(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0' || v < 1 || v > 3600) return bad("timeout needs 1..3600 seconds");
      spec->timeout_s = static_cast<int>(v);
    } else if (key == "opts") {
      for (const std::string& w : Words(value)) {
        if (w != "--tcp-established" && w != "--file-locks")
          return bad("unknown opt '" + w + "' (known: --tcp-established --file-locks)");
        spec->stasis_opts.push_back(w);
      }
    } else {
      return bad("unknown key '" + key + "' (known: needs features known-fail expect-refusal flavors timeout opts)");
    }
  }
  return true;
}

bool LoadCatalog(const std::string& dir, std::vector<TestSpec>* tests, std::string* error) {
  DIR* d = opendir(dir.c_str());
  if (!d) {
    *error = "cannot open tests directory " + dir;
    return false;
  }
  std::set<std::string> executables, descs;
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    if (name.size() > 5 && name.compare(name.size() - 5, 5, ".desc") == 0) {
      descs.insert(name.substr(0, name.size() - 5));
    } else if (name.find('.') == std::string::npos && IsExecutableFile(dir + "/" + name)) {
      executables.insert(name);
    }
  }
  closedir(d);
  tests->clear();
  for (const std::string& name : executables) {
    if (!descs.count(name)) {
      *error = "test " + name + " in " + dir + " has no " + name + ".desc";
      return false;
    }
    TestSpec spec;
    spec.name = name;
    spec.binary = dir + "/" + name;
    std::ifstream f(dir + "/" + name + ".desc");
    std::stringstream text;
    text << f.rdbuf();
    if (!ParseDesc(name + ".desc", text.str(), &spec, error)) return false;
    tests->push_back(std::move(spec));
  }
  for (const std::string& name : descs) {
    if (!executables.count(name)) {
      *error = name + ".desc in " + dir + " has no executable " + name + " (not built?)";
      return false;
    }
  }
  return true;
}

bool SplitPairGlob(const std::string& glob, std::string* dump_glob, std::string* restore_glob) {
  size_t arrow = glob.find("->");
  if (arrow == std::string::npos || glob.find("->", arrow + 2) != std::string::npos) return false;
  *dump_glob = Trim(glob.substr(0, arrow));
  *restore_glob = Trim(glob.substr(arrow + 2));
  return true;
}

namespace {

bool GlobMatches(const std::string& glob, const KernelId& k) {
  return (!k.name.empty() && fnmatch(glob.c_str(), k.name.c_str(), 0) == 0) ||
         (!k.release.empty() && fnmatch(glob.c_str(), k.release.c_str(), 0) == 0);
}

}  // namespace

const KnownFailure* MatchKnownFailure(const TestSpec& spec, const KernelId& here, const KernelId* dumped_on) {
  for (const KnownFailure& k : spec.known_failures) {
    std::string dump_glob, restore_glob;
    if (SplitPairGlob(k.kernel_glob, &dump_glob, &restore_glob)) {
      if (dumped_on && GlobMatches(dump_glob, *dumped_on) && GlobMatches(restore_glob, here)) return &k;
    } else if (!dumped_on && GlobMatches(k.kernel_glob, here)) {
      return &k;
    }
  }
  return nullptr;
}

const KnownFailure* MatchDumpPhaseKnownFailure(const TestSpec& spec, const KernelId& here) {
  for (const KnownFailure& k : spec.known_failures) {
    std::string dump_glob, restore_glob;
    if (SplitPairGlob(k.kernel_glob, &dump_glob, &restore_glob) && restore_glob == "*" && GlobMatches(dump_glob, here))
      return &k;
  }
  return nullptr;
}

const KnownFailure* MatchKnownFailure(const TestSpec& spec, const std::string& kernel_name,
                                      const std::string& kernel_release) {
  return MatchKnownFailure(spec, KernelId{kernel_name, kernel_release}, nullptr);
}

}  // namespace zdtm::runner
