#include "engine/images/show.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <google/protobuf/reflection.h>
#include <google/protobuf/stubs/common.h>
#include <google/protobuf/text_format.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>

#include "engine/common/fd.h"
#include "engine/images/core.pb.h"
#include "engine/images/files.pb.h"
#include "engine/images/image_io.h"
#include "engine/images/inventory.pb.h"
#include "engine/images/ipc.pb.h"
#include "engine/images/lock.pb.h"
#include "engine/images/mm.pb.h"
#include "engine/images/ns.pb.h"
#include "engine/images/object_data.pb.h"
#include "engine/images/pstree.pb.h"
#include "engine/images/timer.pb.h"

namespace stasis::images {
namespace {

constexpr bool kPerPid = true;
constexpr bool kSingle = false;

// Every image kind `stasis show` knows, in the order a directory listing prints them.
const std::array kImageKinds = {
    ImageKindInfo{"inventory", kSingle, ImageKind::kInventory, &img::Inventory::default_instance()},
    ImageKindInfo{"pstree", kSingle, ImageKind::kPstree, &img::ProcessEntry::default_instance()},
    ImageKindInfo{"files", kSingle, ImageKind::kFiles, &img::FileEntry::default_instance()},
    ImageKindInfo{"file-locks", kSingle, ImageKind::kFileLocks, &img::FileLock::default_instance()},
    ImageKindInfo{"ipc-ns", kSingle, ImageKind::kIpcNamespace, &img::IpcNamespace::default_instance()},
    ImageKindInfo{"pipes-data", kSingle, ImageKind::kPipeData, &img::ObjectData::default_instance()},
    ImageKindInfo{"memfd-data", kSingle, ImageKind::kMemfdData, &img::ObjectData::default_instance()},
    ImageKindInfo{"ghost-data", kSingle, ImageKind::kGhostData, &img::ObjectData::default_instance()},
    ImageKindInfo{"ns", kSingle, ImageKind::kNamespaces, &img::Namespaces::default_instance()},
    ImageKindInfo{"core", kPerPid, ImageKind::kCore, &img::TaskCore::default_instance()},
    ImageKindInfo{"mm", kPerPid, ImageKind::kMm, &img::MmCore::default_instance()},
    ImageKindInfo{"pagemap", kPerPid, ImageKind::kPagemap, &img::PagemapEntry::default_instance()},
    ImageKindInfo{"pages", kPerPid, ImageKind::kPages, nullptr},
    ImageKindInfo{"fdinfo", kPerPid, ImageKind::kFdinfo, &img::FdEntry::default_instance()},
    ImageKindInfo{"timers", kPerPid, ImageKind::kTimers, &img::TaskTimers::default_instance()},
};

constexpr std::string_view kImgSuffix = ".img";

// "42" -> 42; rejects empty, signs, leading zeros, 0 and anything above UINT32_MAX.
bool ParsePid(std::string_view s, uint32_t* pid) {
  if (s.empty() || s.size() > 10 || s[0] == '0') return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > UINT32_MAX) return false;
  *pid = static_cast<uint32_t>(v);
  return true;
}

// JSON string literal. File names that are not ours may hold any byte, so by default bytes
// outside printable ASCII become \u00XX and the document stays valid UTF-8; with keep_utf8
// (for text already checked to be valid UTF-8) only control characters are escaped.
std::string JsonQuote(std::string_view s, bool keep_utf8 = false) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7F || (!keep_utf8 && c > 0x7F)) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

// Kernel paths and names are stored as proto `bytes` (they need not be UTF-8), which protobuf
// would print as octal escapes (text) or base64 (JSON). A reader wants the name: valid UTF-8 is
// shown as it is (control characters escaped), anything else C-escaped with \xNN per bad byte.
std::string EscapeNonUtf8(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c < 0x20 || c >= 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

bool IsUtf8(std::string_view s) {
  return google::protobuf::internal::IsStructurallyValidUTF8(s.data(), static_cast<int>(s.size()));
}

// The bytes as the text a JSON string literal carries (without quotes).
std::string ReadableBytes(std::string_view s) { return IsUtf8(s) ? std::string(s) : EscapeNonUtf8(s); }

// Text view: bytes fields printed like strings when they are UTF-8, \xNN for the bytes of
// anything else; either way a valid text-format literal that parses back to the same bytes.
class ReadableBytesPrinter : public google::protobuf::TextFormat::FastFieldValuePrinter {
 public:
  void PrintBytes(const std::string& val,
                  google::protobuf::TextFormat::BaseTextGenerator* generator) const override {
    const bool utf8 = IsUtf8(val);
    std::string out = "\"";
    for (unsigned char c : val) {
      if (c == '"' || c == '\\') {
        out += '\\';
        out += static_cast<char>(c);
      } else if (c < 0x20 || c == 0x7F || (c >= 0x80 && !utf8)) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\x%02x", c);
        out += buf;
      } else {
        out += static_cast<char>(c);
      }
    }
    generator->PrintString(out + "\"");
  }
};

std::string Base64(std::string_view s) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 3 <= s.size(); i += 3) {
    const uint32_t v = (uint32_t{static_cast<uint8_t>(s[i])} << 16) |
                       (uint32_t{static_cast<uint8_t>(s[i + 1])} << 8) | static_cast<uint8_t>(s[i + 2]);
    for (int shift = 18; shift >= 0; shift -= 6) out += kAlphabet[(v >> shift) & 63];
  }
  return out;  // callers pass whole 3-byte groups only
}

// JSON view: every non-empty bytes value of a copy of the message is swapped for a marker
// whose base64 form is unique; after printing, each quoted marker is replaced with the
// readable value. Empty values stay "" and need no marker.
class BytesMarkers {
 public:
  void Replace(google::protobuf::Message* m) {
    const google::protobuf::Reflection* r = m->GetReflection();
    std::vector<const google::protobuf::FieldDescriptor*> fields;
    r->ListFields(*m, &fields);
    for (const auto* f : fields) {
      if (f->type() == google::protobuf::FieldDescriptor::TYPE_BYTES) {
        if (f->is_repeated()) {
          for (int i = 0; i < r->FieldSize(*m, f); ++i)
            r->SetRepeatedString(m, f, i, Mark(r->GetRepeatedString(*m, f, i)));
        } else {
          r->SetString(m, f, Mark(r->GetString(*m, f)));
        }
      } else if (f->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) {
        if (f->is_repeated()) {
          for (int i = 0; i < r->FieldSize(*m, f); ++i) Replace(r->MutableRepeatedMessage(m, f, i));
        } else {
          Replace(r->MutableMessage(m, f));
        }
      }
    }
  }

  std::string Restore(const std::string& json) const {
    std::string out;
    size_t pos = 0;
    while (true) {
      const size_t at = json.find(kMarkerQuote, pos);
      if (at == std::string::npos || at + kMarkerJsonSize > json.size()) break;
      const auto it = values_.find(json.substr(at, kMarkerJsonSize));
      if (it == values_.end()) {
        out.append(json, pos, at + 1 - pos);
        pos = at + 1;
        continue;
      }
      out.append(json, pos, at - pos);
      out += JsonQuote(ReadableBytes(it->second), /*keep_utf8=*/true);
      pos = at + kMarkerJsonSize;
    }
    return out.append(json, pos);
  }

 private:
  // 9 fixed bytes + a 3-byte index: 16 base64 characters, no padding. Every real bytes value
  // was swapped for a marker, so the only base64 left in the document is markers.
  static constexpr std::string_view kMarkerPrefix = "\xffstasis\x01\x02";
  static constexpr size_t kMarkerJsonSize = 2 + 16;
  inline static const std::string kMarkerQuote = "\"" + Base64(kMarkerPrefix);

  std::string Mark(const std::string& value) {
    const uint32_t n = static_cast<uint32_t>(values_.size());
    std::string marker(kMarkerPrefix);
    marker += static_cast<char>(n >> 16);
    marker += static_cast<char>(n >> 8);
    marker += static_cast<char>(n);
    values_["\"" + Base64(marker) + "\""] = value;
    return marker;
  }

  std::map<std::string, std::string> values_;  // quoted base64 marker -> original bytes
};

std::string Plural(uint64_t n, const char* word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

Result<DecodedImage> DecodePages(const ImageKindInfo& info, std::span<const uint8_t> bytes,
                                 uint64_t file_size, std::string_view name) {
  const std::string n(name);
  DecodedImage out;
  out.name = n;
  out.info = &info;
  out.header = STASIS_VALUE(DecodeHeader(bytes, info.kind, name));
  if (file_size < kPageSize)
    return Corrupt(n + ": truncated header page (" + std::to_string(file_size) + " of " +
                   std::to_string(kPageSize) + " bytes)");
  if (out.header.payload_size % kPageSize != 0)
    return Corrupt(n + ": page data of " + std::to_string(out.header.payload_size) +
                   " bytes is not a whole number of pages");
  if (out.header.payload_size != file_size - kPageSize)
    return Corrupt(n + ": header promises " + std::to_string(out.header.payload_size) +
                   " bytes of page data, file has " + std::to_string(file_size - kPageSize));
  out.page_count = out.header.payload_size / kPageSize;
  return out;
}

struct FileToShow {
  std::string name;  // as printed, the key of the JSON object
  std::string path;
  const ImageKindInfo* info = nullptr;  // nullptr: skipped
  uint32_t pid = 0;
  std::string skip_reason;
};

// Reads and decodes one file. Pages images: only the header page is read.
Result<DecodedImage> LoadImage(const FileToShow& f) {
  auto fd = STASIS_VALUE_CTX(OpenFile(f.path, O_RDONLY), f.name);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return SysError("stat " + f.path);
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (f.info->kind == ImageKind::kPages) {
    std::string head(std::min<uint64_t>(size, kPageSize), '\0');
    STASIS_TRY(PreadAll(fd.get(), head.data(), head.size(), 0, f.name));
    return DecodeImage(*f.info, {reinterpret_cast<const uint8_t*>(head.data()), head.size()}, size,
                       f.name);
  }
  fd.reset();
  const std::string bytes = STASIS_VALUE_CTX(ReadFileToString(f.path, 256u << 20), f.name);
  return DecodeImage(*f.info, {reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()},
                     bytes.size(), f.name);
}

// A file given by path whose name says nothing: trust the kind its header claims, if any.
const ImageKindInfo* GuessKindFromHeader(const std::string& path) {
  auto fd = OpenFile(path, O_RDONLY);
  if (!fd.ok()) return nullptr;
  uint8_t head[kImageHeaderSize];
  if (!PreadAll(fd->get(), head, sizeof head, 0, path).ok()) return nullptr;
  if (std::memcmp(head, kImageMagic, sizeof kImageMagic) != 0) return nullptr;
  uint32_t kind = 0;
  for (int i = 3; i >= 0; --i) kind = (kind << 8) | head[12 + i];
  return FindImageKind(static_cast<ImageKind>(kind));
}

Result<std::vector<FileToShow>> ListDirectory(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) return Error(ErrorKind::kIO, "read directory " + dir + ": " + ec.message());
  std::vector<FileToShow> files;
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) return Error(ErrorKind::kIO, "read directory " + dir + ": " + ec.message());
    FileToShow f;
    f.name = it->path().filename().string();
    f.path = it->path().string();
    std::error_code type_ec;
    if (!it->is_regular_file(type_ec)) {
      f.skip_reason = "not a regular file";
    } else if ((f.info = FindImageKindByName(f.name, &f.pid)) == nullptr) {
      f.skip_reason = "not an image name";
    }
    files.push_back(std::move(f));
  }
  // Registry order, then pid; skipped files last, by name.
  auto rank = [](const FileToShow& f) -> size_t {
    return f.info ? static_cast<size_t>(f.info - KnownImageKinds().data()) : SIZE_MAX;
  };
  std::sort(files.begin(), files.end(), [&](const FileToShow& a, const FileToShow& b) {
    if (rank(a) != rank(b)) return rank(a) < rank(b);
    if (a.pid != b.pid) return a.pid < b.pid;
    return a.name < b.name;
  });
  return files;
}

Result<std::vector<FileToShow>> FilesToShow(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return SysError(path);
  if (S_ISDIR(st.st_mode)) return ListDirectory(path);
  if (!S_ISREG(st.st_mode)) return InvalidArg(path + ": not an image file or directory");
  FileToShow f;
  f.path = path;
  f.name = std::filesystem::path(path).filename().string();
  f.info = FindImageKindByName(f.name, &f.pid);
  if (f.info == nullptr) f.info = GuessKindFromHeader(path);
  if (f.info == nullptr)
    return Corrupt(f.name + ": neither the name nor the header says which image this is");
  return std::vector<FileToShow>{std::move(f)};
}

}  // namespace

std::span<const ImageKindInfo> KnownImageKinds() { return kImageKinds; }

const ImageKindInfo* FindImageKindByName(std::string_view name, uint32_t* pid) {
  if (!name.ends_with(kImgSuffix)) return nullptr;
  name.remove_suffix(kImgSuffix.size());
  for (const ImageKindInfo& info : kImageKinds) {
    const std::string_view stem = info.stem;
    if (!info.per_pid) {
      if (name == stem) return &info;
      continue;
    }
    uint32_t p = 0;
    if (name.size() > stem.size() + 1 && name.starts_with(stem) && name[stem.size()] == '-' &&
        ParsePid(name.substr(stem.size() + 1), &p)) {
      if (pid != nullptr) *pid = p;
      return &info;
    }
  }
  return nullptr;
}

const ImageKindInfo* FindImageKind(ImageKind kind) {
  for (const ImageKindInfo& info : kImageKinds)
    if (info.kind == kind) return &info;
  return nullptr;
}

Result<DecodedImage> DecodeImage(const ImageKindInfo& info, std::span<const uint8_t> bytes,
                                 uint64_t file_size, std::string_view name) {
  if (info.prototype == nullptr) return DecodePages(info, bytes, file_size, name);
  const std::string n(name);
  auto bodies = STASIS_VALUE(DecodeMessageImage(bytes, info.kind, name));
  DecodedImage out;
  out.name = n;
  out.info = &info;
  out.header = STASIS_VALUE(DecodeHeader(bytes, info.kind, name));
  out.messages.reserve(bodies.size());
  for (size_t i = 0; i < bodies.size(); ++i) {
    std::unique_ptr<google::protobuf::Message> m(info.prototype->New());
    if (!m->ParseFromArray(bodies[i].data(), static_cast<int>(bodies[i].size())))
      return Corrupt(n + ": message " + std::to_string(i) + " is not a valid " +
                     info.prototype->GetDescriptor()->name());
    out.messages.push_back(std::move(m));
  }
  return out;
}

std::string FormatImageText(const DecodedImage& image) {
  std::string out = "=== " + image.name + " (" + ImageKindName(image.info->kind);
  if (image.info->prototype == nullptr) {
    out += ")\nformat version " + std::to_string(image.header.version) + ", " +
           Plural(image.page_count, "page") + " (" + std::to_string(image.header.payload_size) +
           " bytes of page data)\n";
    return out;
  }
  out += ", " + Plural(image.messages.size(), "message") + ")\n";
  const std::string type = image.info->prototype->GetDescriptor()->name();
  google::protobuf::TextFormat::Printer printer;
  printer.SetDefaultFieldValuePrinter(new ReadableBytesPrinter());  // the printer owns it
  for (size_t i = 0; i < image.messages.size(); ++i) {
    std::string text;
    printer.PrintToString(*image.messages[i], &text);
    out += "--- " + type + " " + std::to_string(i) + "\n" + text;
  }
  return out;
}

Result<std::string> FormatImageJson(const DecodedImage& image) {
  if (image.info->prototype == nullptr) {
    return "[{\"kind\":\"pages\",\"version\":" + std::to_string(image.header.version) +
           ",\"payload_size\":" + std::to_string(image.header.payload_size) +
           ",\"pages\":" + std::to_string(image.page_count) + "}]";
  }
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;    // the names in the .proto, as crit prints them
  options.always_print_primitive_fields = true;  // proto3 hides zeros; a reader wants them
  std::string out = "[";
  for (size_t i = 0; i < image.messages.size(); ++i) {
    std::unique_ptr<google::protobuf::Message> copy(image.messages[i]->New());
    copy->CopyFrom(*image.messages[i]);
    BytesMarkers markers;
    markers.Replace(copy.get());
    std::string json;
    auto status = google::protobuf::util::MessageToJsonString(*copy, &json, options);
    if (!status.ok())
      return Internal(image.name + ": message " + std::to_string(i) +
                      " cannot be shown as JSON: " + std::string(status.message()));
    out += (i == 0 ? "\n" : ",\n") + markers.Restore(json);
  }
  return out + (image.messages.empty() ? "]" : "\n]");
}

Result<std::string> RenderShow(const ShowOptions& options) {
  const auto files = STASIS_VALUE(FilesToShow(options.path));
  std::string out;
  bool first = true;
  for (const FileToShow& f : files) {
    if (options.json) {
      out += first ? "{\n" : ",\n";
      out += JsonQuote(f.name) + ": ";
    }
    first = false;
    if (f.info == nullptr) {
      out += options.json ? "{\"skipped\":" + JsonQuote(f.skip_reason) + "}"
                          : "=== " + f.name + ": skipped (" + f.skip_reason + ")\n";
      continue;
    }
    const DecodedImage image = STASIS_VALUE(LoadImage(f));
    out += options.json ? STASIS_VALUE(FormatImageJson(image)) : FormatImageText(image);
  }
  if (options.json) out += first ? "{}\n" : "\n}\n";
  return out;
}

int RunShow(const ShowOptions& options) {
  auto out = RenderShow(options);
  if (!out.ok()) {
    std::fprintf(stderr, "show: %s\n", out.error().message().c_str());
    return 1;
  }
  if (std::fwrite(out->data(), 1, out->size(), stdout) != out->size() || std::fflush(stdout) != 0) {
    std::perror("show: write to stdout");
    return 1;
  }
  return 0;
}

}  // namespace stasis::images
