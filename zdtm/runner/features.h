// Kernel features as `stasis check --json` reports them, probed once per run.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace zdtm::runner {

struct KernelFeatures {
  bool probed = false;
  std::string error;                  // why probing failed, when !probed
  std::map<std::string, bool> available;
};

// Runs `<stasis> check --all --json` and parses it.
KernelFeatures ProbeFeatures(const std::string& stasis);

// Accepts the shapes a feature report takes: objects carrying "name" (string) and "available"
// (bool) anywhere in the document, or a "features" object mapping names to bools or to objects
// with "available". Pure; false with *error on malformed JSON or when no feature was found.
bool ParseCheckJson(const std::string& json, std::map<std::string, bool>* out, std::string* error);

// "" when every feature is there, else the reason to skip ("kernel lacks X", "unknown feature Y").
std::string MissingFeatures(const KernelFeatures& features, const std::vector<std::string>& needed);

}  // namespace zdtm::runner
