// `stasis show DIR|FILE [--json]`: decode any image (like crit).
#pragma once

#include <string>

namespace stasis::images {

struct ShowOptions {
  std::string path;   // an images directory or one image file
  bool json = false;  // JSON instead of protobuf text format
};

// Prints to stdout; returns the exit code. Errors are one line on stderr.
int RunShow(const ShowOptions& options);

}  // namespace stasis::images
