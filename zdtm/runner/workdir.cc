#include "zdtm/runner/workdir.h"

#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <sstream>

namespace zdtm::runner {
namespace {

int RemoveEntry(const char* path, const struct stat*, int, struct FTW*) {
  return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

bool MakeDirs(const std::string& path) {
  for (size_t slash = path.find('/', 1);; slash = path.find('/', slash + 1)) {
    std::string prefix = path.substr(0, slash);
    if (mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) return false;
    if (slash == std::string::npos) return true;
  }
}

}  // namespace

bool ResetDirectory(const std::string& path, std::string* error) {
  struct stat st;
  if (lstat(path.c_str(), &st) == 0 && nftw(path.c_str(), RemoveEntry, 16, FTW_DEPTH | FTW_PHYS) != 0) {
    *error = "cannot remove " + path + ": " + std::strerror(errno);
    return false;
  }
  if (!MakeDirs(path) || chmod(path.c_str(), 0777) != 0) {
    *error = "cannot create " + path + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

bool ReadSmallFile(const std::string& path, std::string* out, std::string* error) {
  std::ifstream f(path);
  if (!f) {
    *error = "cannot read " + path + ": " + std::strerror(errno);
    return false;
  }
  std::stringstream s;
  s << f.rdbuf();
  *out = s.str();
  return true;
}

bool WriteFile(const std::string& path, const std::string& text, std::string* error) {
  std::ofstream f(path, std::ios::trunc);
  f << text;
  f.close();
  if (!f) {
    *error = "cannot write " + path;
    return false;
  }
  return true;
}

bool ReadPidfile(const std::string& path, pid_t* pid, std::string* error) {
  std::string text;
  if (!ReadSmallFile(path, &text, error)) return false;
  char* end = nullptr;
  long v = std::strtol(text.c_str(), &end, 10);
  if (end == text.c_str() || v <= 0 || v > (1L << 22) || (*end != '\0' && *end != '\n')) {
    *error = "pidfile " + path + " holds no pid: '" + text.substr(0, 40) + "'";
    return false;
  }
  *pid = static_cast<pid_t>(v);
  return true;
}

std::string LastLine(const std::string& path) {
  std::ifstream f(path);
  std::string line, last;
  while (std::getline(f, line))
    if (!line.empty()) last = line;
  return last;
}

std::string Tail(const std::string& path, const std::string& title, int lines) {
  std::ifstream f(path);
  if (!f) return "";
  std::deque<std::string> tail;
  std::string line;
  while (std::getline(f, line)) {
    tail.push_back(line);
    if (static_cast<int>(tail.size()) > lines) tail.pop_front();
  }
  if (tail.empty()) return "";
  std::string out = "--- " + title + " (" + path + "), last " + std::to_string(tail.size()) + " lines\n";
  for (const std::string& l : tail) out += "  " + l + "\n";
  return out;
}

}  // namespace zdtm::runner
