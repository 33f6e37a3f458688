#include "zdtm/runner/report.h"

#include <cstdio>
#include <fstream>

namespace zdtm::runner {
namespace {

const char* Tag(Outcome o) {
  switch (o) {
    case Outcome::kPass: return "PASS";
    case Outcome::kFail: return "FAIL";
    case Outcome::kSkip: return "SKIP";
    case Outcome::kKnownFail: return "KFAIL";
    case Outcome::kUnexpectedPass: return "XPASS";
  }
  return "?";
}

}  // namespace

namespace {

// Length of the well-formed UTF-8 sequence at text[i] (1..4), or 0 when it is not one.
size_t Utf8SequenceLength(const std::string& text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char c = byte(i);
  size_t n = 0;
  unsigned min = 0, cp = 0;
  if (c < 0x80) return 1;
  if ((c & 0xe0) == 0xc0) n = 2, min = 0x80, cp = c & 0x1f;
  else if ((c & 0xf0) == 0xe0) n = 3, min = 0x800, cp = c & 0x0f;
  else if ((c & 0xf8) == 0xf0) n = 4, min = 0x10000, cp = c & 0x07;
  else return 0;
  if (i + n > text.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3f);
  }
  // Overlong forms, surrogates and code points past U+10FFFF are not well-formed; U+FFFE/FFFF
  // are not allowed in XML.
  if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff || cp == 0xfffe || cp == 0xffff) return 0;
  return n;
}

}  // namespace

// Test output carries kernel paths, which are bytes: a file name that is not UTF-8 must not
// make the whole JUnit file unreadable, so such bytes are written as the text "\xNN".
std::string XmlEscape(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    const size_t n = Utf8SequenceLength(text, i);
    if (n == 0) {
      char hex[8];
      std::snprintf(hex, sizeof(hex), "\\x%02x", c);
      out += hex;
      ++i;
      continue;
    }
    if (n > 1) {
      out.append(text, i, n);
      i += n;
      continue;
    }
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default:
        if (c < 0x20 && c != '\n' && c != '\t') out += '?';
        else out.push_back(static_cast<char>(c));
    }
    ++i;
  }
  return out;
}

void Report::Add(const TestResult& r) {
  results_.push_back(r);
  switch (r.outcome) {
    case Outcome::kPass:
      std::printf("PASS %s (%.1fs)%s%s\n", r.name.c_str(), r.seconds, r.reason.empty() ? "" : ": ",
                  r.reason.c_str());
      break;
    case Outcome::kFail:
      std::printf("FAIL %s: %s (%.1fs)\n", r.name.c_str(), r.reason.c_str(), r.seconds);
      if (!r.details.empty()) std::printf("%s", r.details.c_str());
      break;
    default:
      std::printf("%s %s: %s\n", Tag(r.outcome), r.name.c_str(), r.reason.c_str());
      if (verbose_ && !r.details.empty()) std::printf("%s", r.details.c_str());
  }
  std::fflush(stdout);
}

void Report::PrintSummary() const {
  int passed = 0, failed = 0, skipped = 0;
  std::string kfail, xpass;
  for (const TestResult& r : results_) {
    switch (r.outcome) {
      case Outcome::kFail: ++failed; break;
      case Outcome::kSkip: ++skipped; break;
      case Outcome::kKnownFail: ++passed; kfail += " " + r.name; break;
      case Outcome::kUnexpectedPass: ++passed; xpass += " " + r.name; break;
      case Outcome::kPass: ++passed; break;
    }
  }
  if (!kfail.empty()) std::printf("known failures (counted as passed):%s\n", kfail.c_str());
  if (!xpass.empty()) std::printf("unexpected passes (listed as known failures):%s\n", xpass.c_str());
  std::printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
  std::fflush(stdout);
}

bool Report::WriteJunit(const std::string& path, const std::string& suite_name, std::string* error) const {
  int failures = 0, skipped = 0;
  double total = 0;
  for (const TestResult& r : results_) {
    failures += r.outcome == Outcome::kFail;
    skipped += r.outcome == Outcome::kSkip;
    total += r.seconds;
  }
  std::ofstream f(path, std::ios::trunc);
  char head[256];
  std::snprintf(head, sizeof(head), "<testsuite name=\"%s\" tests=\"%zu\" failures=\"%d\" skipped=\"%d\" time=\"%.3f\">\n",
                XmlEscape(suite_name).c_str(), results_.size(), failures, skipped, total);
  f << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n" << head;
  for (const TestResult& r : results_) {
    char time[32];
    std::snprintf(time, sizeof(time), "%.3f", r.seconds);
    f << "  <testcase classname=\"" << XmlEscape(suite_name) << "\" name=\"" << XmlEscape(r.name)
      << "\" time=\"" << time << "\">";
    switch (r.outcome) {
      case Outcome::kFail:
        f << "\n    <failure message=\"" << XmlEscape(r.reason) << "\">" << XmlEscape(r.details)
          << "</failure>\n  ";
        break;
      case Outcome::kSkip:
        f << "<skipped message=\"" << XmlEscape(r.reason) << "\"/>";
        break;
      case Outcome::kKnownFail:
      case Outcome::kUnexpectedPass:
        f << "<system-out>" << Tag(r.outcome) << ": " << XmlEscape(r.reason) << "</system-out>";
        break;
      case Outcome::kPass: break;
    }
    f << "</testcase>\n";
  }
  f << "</testsuite>\n</testsuites>\n";
  f.close();
  if (!f) {
    *error = "cannot write JUnit XML to " + path;
    return false;
  }
  return true;
}

int Report::ExitCode() const {
  for (const TestResult& r : results_)
    if (r.outcome == Outcome::kFail) return 1;
  return 0;
}

}  // namespace zdtm::runner
