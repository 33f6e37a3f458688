// Files of a test run: its work directory, pidfiles, and the log tails shown on failure.
#pragma once

#include <sys/types.h>

#include <string>

namespace zdtm::runner {

// Removes path recursively (if present) and creates it empty, mode 0777: tests that drop their
// credentials still write their pidfile there.
bool ResetDirectory(const std::string& path, std::string* error);

// Reads a pid written by a test or by `stasis restore --pidfile`.
bool ReadPidfile(const std::string& path, pid_t* pid, std::string* error);

bool ReadSmallFile(const std::string& path, std::string* out, std::string* error);
bool WriteFile(const std::string& path, const std::string& text, std::string* error);

// The last non-empty line of a file ("" if none).
std::string LastLine(const std::string& path);

// "--- <title> (path), last N lines\n" + the lines; "" if the file is missing or empty.
std::string Tail(const std::string& path, const std::string& title, int lines);

}  // namespace zdtm::runner
