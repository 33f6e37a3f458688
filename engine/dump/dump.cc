#include "engine/dump/dump.h"

namespace stasis::dump {

// Placeholder until the dump pipeline lands; replaced by the real implementation.
Status Dump(const DumpOptions&, Logger&, DumpStats*) { return Unsupported("dump is not built yet"); }

}  // namespace stasis::dump
