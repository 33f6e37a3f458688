// JSON encoding (by hand, to keep the report order) and decoding (protobuf's JSON parser into
// a google.protobuf.Struct, which bounds nesting) of feature sets.
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <cstdio>

#include "engine/check/feature_cache.h"

namespace stasis::check {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

void AppendString(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char esc[8];
          std::snprintf(esc, sizeof(esc), "\\u%04x", static_cast<unsigned char>(c));
          out += esc;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

void AppendBody(std::string& out, const KernelFeatures& features) {
  out += "{\n  \"kernel\": ";
  AppendString(out, features.kernel_release());
  out += ",\n  \"features\": {";
  bool first = true;
  for (const FeatureProbe& p : features.probes()) {
    out += first ? "\n    " : ",\n    ";
    first = false;
    AppendString(out, p.name);
    out += ": {\"available\": ";
    out += p.available ? "true" : "false";
    out += ", \"required\": ";
    out += p.required ? "true" : "false";
    out += ", \"detail\": ";
    AppendString(out, p.detail);
    out += "}";
  }
  out += "\n  }";
}

const Value* Field(const Struct& s, const std::string& name, Value::KindCase kind) {
  auto it = s.fields().find(name);
  if (it == s.fields().end() || it->second.kind_case() != kind) return nullptr;
  return &it->second;
}

}  // namespace

std::string FeaturesToJson(const KernelFeatures& features) {
  std::string out;
  AppendBody(out, features);
  out += "\n}\n";
  return out;
}

std::string CacheToJson(const KernelFeatures& features, const CacheKey& key) {
  std::string out;
  AppendBody(out, features);
  out += ",\n  \"cache\": {\"format\": " + std::to_string(kCacheFormat) + ", \"boot_id\": ";
  AppendString(out, key.boot_id);
  out += ", \"context\": ";
  AppendString(out, key.context);
  out += "}\n}\n";
  return out;
}

Result<KernelFeatures> FeaturesFromCacheJson(std::string_view json, const CacheKey& key) {
  if (json.size() > kMaxCacheBytes) return Corrupt("larger than " + std::to_string(kMaxCacheBytes) + " bytes");
  Struct root;
  auto parsed = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), &root);
  if (!parsed.ok()) return Corrupt("not valid JSON: " + parsed.ToString());

  const Value* cache = Field(root, "cache", Value::kStructValue);
  if (!cache) return Corrupt("no \"cache\" object");
  const Value* format = Field(cache->struct_value(), "format", Value::kNumberValue);
  const Value* boot_id = Field(cache->struct_value(), "boot_id", Value::kStringValue);
  const Value* context = Field(cache->struct_value(), "context", Value::kStringValue);
  const Value* kernel = Field(root, "kernel", Value::kStringValue);
  if (!format || !boot_id || !context || !kernel) return Corrupt("cache key fields missing");
  if (format->number_value() != kCacheFormat)
    return Corrupt("format " + std::to_string(format->number_value()) + ", expected " + std::to_string(kCacheFormat));
  if (boot_id->string_value() != key.boot_id) return Corrupt("written during another boot");
  if (kernel->string_value() != key.kernel_release) return Corrupt("written by another kernel");
  if (context->string_value() != key.context)
    return Corrupt("written with other credentials or namespaces (" + context->string_value() + ")");

  const Value* features = Field(root, "features", Value::kStructValue);
  if (!features) return Corrupt("no \"features\" object");
  std::vector<FeatureProbe> probes;
  for (size_t i = 0; i < kFeatureCount; ++i) {
    const FeatureSpec& spec = Spec(static_cast<Feature>(i));
    const Value* entry = Field(features->struct_value(), spec.name, Value::kStructValue);
    if (!entry) return Corrupt(std::string("feature ") + spec.name + " missing");
    const Value* available = Field(entry->struct_value(), "available", Value::kBoolValue);
    const Value* detail = Field(entry->struct_value(), "detail", Value::kStringValue);
    if (!available || !detail) return Corrupt(std::string("feature ") + spec.name + " malformed");
    probes.push_back({spec.name, available->bool_value(), spec.required, detail->string_value()});
  }
  return KernelFeatures(kernel->string_value(), probes);
}

}  // namespace stasis::check
