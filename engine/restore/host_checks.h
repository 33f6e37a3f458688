// Checks of the image set against this host, still before any process is created: page
// checksums, CPU features, free pids, files that must exist.
#pragma once

#include "engine/common/error.h"
#include "engine/common/log.h"
#include "engine/restore/image_set.h"

namespace stasis::restore {

// Recomputes every page run's CRC-32C from pages-PID.img (mapped, not read).
Status VerifyPageChecksums(const ImageSet& set, const std::string& dir);

// Every thread's xstate must only use features this CPU has enabled (XCR0).
Status CheckCpuFeatures(const ImageSet& set);

// Every pid and tid of the set must be free. A just-killed tree may still be being reaped,
// so a taken pid is given up to `wait_ms` to vanish before it is reported as in use.
// Every capability a thread had (permitted, inheritable) is one the restorer holds: a guest's
// root may have had CAP_SYS_RESOURCE, which this host's root lacks.
Status CheckCapabilities(const ImageSet& set);

Status CheckPidsFree(const ImageSet& set, int wait_ms = 3000);

// Files the restore will open (fds, file mappings, exe) must exist; a regular file that shrank
// since the dump is reported as a warning.
Status CheckFilesExist(const ImageSet& set, Logger& log);

}  // namespace stasis::restore
