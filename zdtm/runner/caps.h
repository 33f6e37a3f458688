// The runner's capability baseline for migrations: images dumped by a process tree with a
// capability the restoring machine's root lacks cannot be restored there (capset may only keep
// what the restorer holds). Like a workload started for a lesser CPU, the dump side then starts
// everything with the target's capability set.
#pragma once

#include <cstdint>
#include <string>

namespace zdtm::runner {

// Drops every capability outside `keep` from this process's bounding set and from its
// permitted, effective and inheritable sets (children inherit all of it). False with *error on
// failure.
bool LimitCapabilities(uint64_t keep, std::string* error);

}  // namespace zdtm::runner
