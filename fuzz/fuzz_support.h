// What every fuzz target shares: invariants that abort loudly (so libFuzzer keeps the input),
// checksum repair (so mutations reach the parsers behind the CRCs), and the container that
// packs a whole image set into one fuzz input.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>

#include "engine/common/error.h"

namespace stasis::fuzz {

// A broken invariant is a finding: print it and abort.
[[noreturn]] void Fail(const std::string& what);
inline void Check(bool ok, const char* what) {
  if (!ok) Fail(what);
}

// Bad input must produce one clear line: non-empty, no newline or other control character,
// short enough to read, never an echo of a large piece of the input.
void CheckErrorLine(const Error& error);

std::span<const uint8_t> Bytes(const std::string& s);

// The image with its header CRC, and (except for pages images, whose payload is not in the
// same buffer) its payload size and payload CRC recomputed. Shorter than a header: unchanged.
std::string WithValidChecksums(std::string image);

// Several named files in one input, each introduced by a line "\n=file NAME\n"; bytes before
// the first such line are ignored, a repeated name keeps its first contents. Splitting on a
// marker instead of length prefixes keeps file boundaries stable under insertions.
inline constexpr std::string_view kFileMarker = "\n=file ";
std::map<std::string, std::string> SplitNamedFiles(std::span<const uint8_t> input);
// The inverse. Fails (returns false) when a file's contents contain the marker.
bool JoinNamedFiles(const std::map<std::string, std::string>& files, std::string* out);

// protobuf logs every invalid UTF-8 string it refuses; the fuzzers feed it plenty.
void SilenceProtobufLogs();

}  // namespace stasis::fuzz
