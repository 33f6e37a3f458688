#include "engine/restore/restore.h"

namespace stasis::restore {

// Placeholder until the restore pipeline lands; replaced by the real implementation.
Status Restore(const RestoreOptions&, Logger&, int*, RestoreStats*) {
  return Unsupported("restore is not built yet");
}

}  // namespace stasis::restore
