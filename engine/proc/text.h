// Small tokenizing helpers shared by the /proc parsers. Pure, allocation-free, no I/O.
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string_view>

namespace stasis::proc {

// Caps every parser applies before looking at a single byte: /proc files we parse are far
// below these, so anything larger is not a /proc file.
inline constexpr size_t kMaxProcText = 64u << 20;

// Parses the whole of `s` as an unsigned number in `base`; nullopt on any stray byte or overflow.
inline std::optional<uint64_t> ParseU64(std::string_view s, int base = 10) {
  if (s.empty()) return std::nullopt;
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

inline std::optional<int64_t> ParseI64(std::string_view s) {
  if (s.empty()) return std::nullopt;
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 10);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

inline bool IsBlank(char c) { return c == ' ' || c == '\t'; }

inline std::string_view TrimBlanks(std::string_view s) {
  while (!s.empty() && IsBlank(s.front())) s.remove_prefix(1);
  while (!s.empty() && (IsBlank(s.back()) || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

// Cuts the next line (without its '\n') off the front of `text`. False when text is empty.
inline bool NextLine(std::string_view& text, std::string_view* line) {
  if (text.empty()) return false;
  size_t nl = text.find('\n');
  if (nl == std::string_view::npos) {
    *line = text;
    text = {};
  } else {
    *line = text.substr(0, nl);
    text.remove_prefix(nl + 1);
  }
  return true;
}

// Cuts the next blank-separated token off the front of `s`; empty when none is left.
inline std::string_view NextToken(std::string_view& s) {
  while (!s.empty() && IsBlank(s.front())) s.remove_prefix(1);
  size_t i = 0;
  while (i < s.size() && !IsBlank(s[i])) ++i;
  std::string_view tok = s.substr(0, i);
  s.remove_prefix(i);
  return tok;
}

}  // namespace stasis::proc
