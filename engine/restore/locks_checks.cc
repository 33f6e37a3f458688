#include "engine/restore/locks_checks.h"

#include <string>

#include "engine/restore/image_set.h"

namespace stasis::restore {

Status CheckFileLocks(const std::vector<img::FileLock>& locks, const ImageSet& set) {
  constexpr uint64_t kOffsetMax = INT64_MAX;
  if (locks.size() > kMaxFileLocks) return Corrupt("file-locks.img: " + std::to_string(locks.size()) + " locks");
  for (size_t i = 0; i < locks.size(); ++i) {
    const img::FileLock& l = locks[i];
    const std::string where = "file-locks.img: lock " + std::to_string(i) + " (pid " + std::to_string(l.pid()) +
                              " fd " + std::to_string(l.fd()) + ")";
    if (!img::LockKind_IsValid(l.kind())) return Corrupt(where + ": unknown kind " + std::to_string(l.kind()));
    const int index = set.IndexOf(l.pid());
    if (index < 0) return Corrupt(where + ": no such process in the image set");
    const ProcessImage& p = set.processes[static_cast<size_t>(index)];
    if (p.zombie()) return Corrupt(where + ": the process is a zombie");
    bool found = false;
    for (const img::FdEntry& fd : p.fds) found |= fd.fd() == l.fd() && fd.file_id() == l.file_id();
    if (!found) return Corrupt(where + ": the process has no such fd with file id " + std::to_string(l.file_id()));
    if (l.start() >= kOffsetMax || (!l.to_eof() && (l.end() < l.start() || l.end() >= kOffsetMax)))
      return Corrupt(where + ": bad range " + std::to_string(l.start()) + "-" + std::to_string(l.end()));
  }
  return Status::Ok();
}

}  // namespace stasis::restore
