// The `stasis` command line: one verb per command, CRIU's option names.
#pragma once

namespace stasis::cli {

int Main(int argc, char** argv);

}  // namespace stasis::cli
