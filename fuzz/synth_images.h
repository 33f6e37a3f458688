// Synthetic but realistic image sets, for seed corpora while no real dump is at hand. Each
// scenario is built to pass ParseImageSet and BuildPlan, so the fuzzers start deep inside.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace stasis::fuzz {

struct SynthScenario {
  std::string name;
  std::map<std::string, std::string> files;  // pages-PID.img: the whole file, header page + pages
};

std::vector<SynthScenario> SynthesizeImageSets();

}  // namespace stasis::fuzz
