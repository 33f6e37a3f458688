#include "zdtm/runner/features.h"

#include <memory>
#include <vector>

#include "zdtm/runner/process.h"

namespace zdtm::runner {
namespace {

// A minimal JSON value: enough to walk a feature report; no number conversion needed.
struct JsonValue {
  enum Kind { kNull, kBool, kNumber, kString, kArray, kObject } kind = kNull;
  bool boolean = false;
  std::string text;
  std::vector<std::unique_ptr<JsonValue>> items;
  std::vector<std::pair<std::string, std::unique_ptr<JsonValue>>> members;

  const JsonValue* Member(const std::string& key) const {
    for (const auto& [k, v] : members)
      if (k == key) return v.get();
    return nullptr;
  }
};

class JsonParser {
 public:
  explicit JsonParser(const std::string& s) : s_(s) {}

  std::unique_ptr<JsonValue> Parse(std::string* error) {
    auto v = Value(0);
    SkipSpace();
    if (v && pos_ != s_.size()) Fail("trailing characters");
    if (!v || !error_.empty()) {
      *error = "bad JSON at offset " + std::to_string(pos_) + ": " + error_;
      return nullptr;
    }
    return v;
  }

 private:
  void Fail(const std::string& why) {
    if (error_.empty()) error_ = why;
  }
  void SkipSpace() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\t' || s_[pos_] == '\r'))
      ++pos_;
  }
  bool Eat(char c) {
    SkipSpace();
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool String(std::string* out) {
    if (!Eat('"')) return false;
    while (pos_ < s_.size() && s_[pos_] != '"') {
      if (s_[pos_] == '\\' && pos_ + 1 < s_.size()) {
        char e = s_[++pos_];
        if (e == 'u') {
          pos_ += 4;  // feature names are ASCII; a \u escape only needs skipping
          out->push_back('?');
          ++pos_;
          continue;
        }
        out->push_back(e == 'n' ? '\n' : e == 't' ? '\t' : e);
      } else {
        out->push_back(s_[pos_]);
      }
      ++pos_;
    }
    if (pos_ >= s_.size()) {
      Fail("unterminated string");
      return false;
    }
    ++pos_;
    return true;
  }
  std::unique_ptr<JsonValue> Value(int depth) {
    if (depth > 64) {
      Fail("nesting too deep");
      return nullptr;
    }
    SkipSpace();
    auto v = std::make_unique<JsonValue>();
    if (pos_ >= s_.size()) {
      Fail("unexpected end");
      return nullptr;
    }
    char c = s_[pos_];
    if (c == '{') {
      ++pos_;
      v->kind = JsonValue::kObject;
      if (Eat('}')) return v;
      do {
        std::string key;
        if (!String(&key)) return Fail("expected a key"), nullptr;
        if (!Eat(':')) return Fail("expected ':'"), nullptr;
        auto member = Value(depth + 1);
        if (!member) return nullptr;
        v->members.emplace_back(std::move(key), std::move(member));
      } while (Eat(','));
      if (!Eat('}')) return Fail("expected '}'"), nullptr;
    } else if (c == '[') {
      ++pos_;
      v->kind = JsonValue::kArray;
      if (Eat(']')) return v;
      do {
        auto item = Value(depth + 1);
        if (!item) return nullptr;
        v->items.push_back(std::move(item));
      } while (Eat(','));
      if (!Eat(']')) return Fail("expected ']'"), nullptr;
    } else if (c == '"') {
      v->kind = JsonValue::kString;
      if (!String(&v->text)) return nullptr;
    } else if (s_.compare(pos_, 4, "true") == 0 || s_.compare(pos_, 5, "false") == 0) {
      v->kind = JsonValue::kBool;
      v->boolean = c == 't';
      pos_ += v->boolean ? 4 : 5;
    } else if (s_.compare(pos_, 4, "null") == 0) {
      pos_ += 4;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      v->kind = JsonValue::kNumber;
      while (pos_ < s_.size() && std::string("+-.eE0123456789").find(s_[pos_]) != std::string::npos)
        v->text.push_back(s_[pos_++]);
    } else {
      Fail(std::string("unexpected character '") + c + "'");
      return nullptr;
    }
    return v;
  }

  const std::string& s_;
  size_t pos_ = 0;
  std::string error_;
};

void Collect(const JsonValue& v, std::map<std::string, bool>* out) {
  if (v.kind == JsonValue::kObject) {
    const JsonValue* name = v.Member("name");
    const JsonValue* avail = v.Member("available");
    if (name && avail && name->kind == JsonValue::kString && avail->kind == JsonValue::kBool)
      (*out)[name->text] = avail->boolean;
    const JsonValue* features = v.Member("features");
    if (features && features->kind == JsonValue::kObject) {
      for (const auto& [k, f] : features->members) {
        if (f->kind == JsonValue::kBool) (*out)[k] = f->boolean;
        const JsonValue* a = f->kind == JsonValue::kObject ? f->Member("available") : nullptr;
        if (a && a->kind == JsonValue::kBool) (*out)[k] = a->boolean;
      }
    }
    for (const auto& m : v.members) Collect(*m.second, out);
  } else if (v.kind == JsonValue::kArray) {
    for (const auto& item : v.items) Collect(*item, out);
  }
}

}  // namespace

bool ParseCheckJson(const std::string& json, std::map<std::string, bool>* out, std::string* error) {
  JsonParser parser(json);
  auto root = parser.Parse(error);
  if (!root) return false;
  Collect(*root, out);
  if (out->empty()) {
    *error = "no feature entries in the report";
    return false;
  }
  return true;
}

KernelFeatures ProbeFeatures(const std::string& stasis) {
  KernelFeatures f;
  CommandResult r = RunCapture({stasis, "check", "--all", "--json"}, 60);
  if (!r.started) {
    f.error = "cannot run " + stasis + ": " + r.error;
    return f;
  }
  if (r.timed_out) {
    f.error = "`stasis check --json` timed out";
    return f;
  }
  std::string error;
  if (!ParseCheckJson(r.output, &f.available, &error)) {
    f.error = "`stasis check --all --json` (" + DescribeStatus(r.status) + "): " + error;
    return f;
  }
  f.probed = true;
  return f;
}

std::string MissingFeatures(const KernelFeatures& features, const std::vector<std::string>& needed) {
  if (needed.empty()) return "";
  if (!features.probed) return "cannot check features: " + features.error;
  std::string missing;
  for (const std::string& n : needed) {
    auto it = features.available.find(n);
    if (it == features.available.end()) missing += (missing.empty() ? "" : ", ") + ("unknown feature " + n);
    else if (!it->second) missing += (missing.empty() ? "" : ", ") + ("kernel lacks " + n);
  }
  return missing;
}

}  // namespace zdtm::runner
