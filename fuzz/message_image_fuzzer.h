// The body of every per-kind fuzz target: an image file of one kind goes through both parsers
// (the loader's typed ParseMessages<Msg> and show's registry-driven DecodeImage), which must
// agree; what parses must survive decode -> encode -> decode and print as text and JSON.
//
// A target is one line:  STASIS_MESSAGE_IMAGE_FUZZER(stasis::img::TaskCore, "core-1.img")
#pragma once

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/images/image_io.h"
#include "engine/images/show.h"
#include "fuzz/fuzz_support.h"

namespace stasis::fuzz {

template <typename Msg>
void CheckJsonRoundTrip(const Msg& m) {
  google::protobuf::util::JsonPrintOptions print;
  print.preserve_proto_field_names = true;
  print.always_print_primitive_fields = true;
  std::string json;
  Check(google::protobuf::util::MessageToJsonString(m, &json, print).ok(), "message does not print as JSON");
  Msg back;
  Check(google::protobuf::util::JsonStringToMessage(json, &back).ok(), "printed JSON does not parse");
  Msg known = m;
  known.DiscardUnknownFields();  // JSON has no place for fields this schema does not know
  if (!google::protobuf::util::MessageDifferencer::Equals(known, back))
    Fail("JSON round trip changed the message: " + json);
}

template <typename Msg>
void CheckMessageImage(const images::ImageKindInfo& kind, const std::string& file, const std::string& name) {
  auto parsed = images::ParseMessages<Msg>(Bytes(file), kind.kind, name);
  auto decoded = images::DecodeImage(kind, Bytes(file), file.size(), name);
  Check(parsed.ok() == decoded.ok(), "ParseMessages and DecodeImage disagree on accepting the image");
  if (!parsed.ok()) {
    CheckErrorLine(parsed.error());
    Check(parsed.error().message().rfind(name, 0) == 0, "error does not start with the file name");
    Check(parsed.error().message() == decoded.error().message(), "the two parsers report different errors");
    return;
  }
  Check(parsed->size() == decoded->messages.size(), "the two parsers found different message counts");

  std::vector<std::string> bodies;
  for (const Msg& m : *parsed) {
    std::string body;
    Check(m.SerializeToString(&body), "a parsed message does not serialize");
    bodies.push_back(std::move(body));
  }
  const std::string again = images::EncodeMessageImage(kind.kind, bodies);
  auto reparsed = images::ParseMessages<Msg>(Bytes(again), kind.kind, name);
  if (!reparsed.ok()) Fail("re-encoded image does not parse: " + reparsed.error().message());
  Check(reparsed->size() == bodies.size(), "re-encoded image has a different message count");
  for (size_t i = 0; i < bodies.size(); ++i)
    Check((*reparsed)[i].SerializeAsString() == bodies[i], "decode -> encode -> decode changed a message");

  (void)images::FormatImageText(*decoded);
  Check(images::FormatImageJson(*decoded).ok(), "show cannot print a valid image as JSON");
  for (const Msg& m : *parsed) CheckJsonRoundTrip(m);
}

// The input as given (every header, size and checksum check), then with its sizes and
// checksums repaired (everything behind them).
template <typename Msg>
int FuzzMessageImage(const uint8_t* data, size_t size, const char* name) {
  const images::ImageKindInfo* kind = images::FindImageKindByName(name);
  Check(kind != nullptr && kind->prototype != nullptr &&
            kind->prototype->GetDescriptor() == Msg::descriptor(),
        "fuzz target names an image the registry does not map to its message type");
  const std::string raw(reinterpret_cast<const char*>(data), size);
  CheckMessageImage<Msg>(*kind, raw, name);
  const std::string repaired = WithValidChecksums(raw);
  if (repaired != raw) CheckMessageImage<Msg>(*kind, repaired, name);
  return 0;
}

}  // namespace stasis::fuzz

#define STASIS_MESSAGE_IMAGE_FUZZER(Msg, file_name)                                 \
  extern "C" int LLVMFuzzerInitialize(int*, char***) {                              \
    stasis::fuzz::SilenceProtobufLogs();                                            \
    return 0;                                                                       \
  }                                                                                 \
  extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {         \
    return stasis::fuzz::FuzzMessageImage<Msg>(data, size, file_name);             \
  }
