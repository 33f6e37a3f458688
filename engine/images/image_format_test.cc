// The image container: every message type round-trips, and every kind of damage is refused
// with its exact error.
#include "engine/images/image_format.h"

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <algorithm>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "engine/common/crc32c.h"
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
#include "engine/images/show.h"

namespace stasis::images {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Sets every field of `m` (recursively, repeated fields twice, member `oneof_member` (modulo
// its size) of each oneof) to a non-default value derived from `seed`, so a round trip that
// drops or mangles any field of any message type, today's or one added later, is noticed.
void FillEveryField(Message* m, uint64_t seed, int oneof_member = 0, int depth = 0) {
  const auto* d = m->GetDescriptor();
  const Reflection* r = m->GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (f->containing_oneof() != nullptr &&
        f->index_in_oneof() != oneof_member % f->containing_oneof()->field_count())
      continue;
    const int copies = f->is_repeated() ? 2 : 1;
    for (int c = 0; c < copies; ++c) {
      const uint64_t v = seed * 1000003u + static_cast<uint64_t>(f->number()) * 97u + c + 1;
      const bool rep = f->is_repeated();
      switch (f->cpp_type()) {
        case FieldDescriptor::CPPTYPE_INT32:
          rep ? r->AddInt32(m, f, -static_cast<int32_t>(v)) : r->SetInt32(m, f, -static_cast<int32_t>(v));
          break;
        case FieldDescriptor::CPPTYPE_INT64:
          rep ? r->AddInt64(m, f, -static_cast<int64_t>(v)) : r->SetInt64(m, f, -static_cast<int64_t>(v));
          break;
        case FieldDescriptor::CPPTYPE_UINT32:
          rep ? r->AddUInt32(m, f, static_cast<uint32_t>(v)) : r->SetUInt32(m, f, static_cast<uint32_t>(v));
          break;
        case FieldDescriptor::CPPTYPE_UINT64:
          rep ? r->AddUInt64(m, f, v << 20) : r->SetUInt64(m, f, v << 20);
          break;
        case FieldDescriptor::CPPTYPE_DOUBLE:
          rep ? r->AddDouble(m, f, v / 3.0) : r->SetDouble(m, f, v / 3.0);
          break;
        case FieldDescriptor::CPPTYPE_FLOAT:
          rep ? r->AddFloat(m, f, v / 3.0f) : r->SetFloat(m, f, v / 3.0f);
          break;
        case FieldDescriptor::CPPTYPE_BOOL:
          rep ? r->AddBool(m, f, true) : r->SetBool(m, f, true);
          break;
        case FieldDescriptor::CPPTYPE_ENUM: {
          const auto* e = f->enum_type();
          const auto* ev = e->value(static_cast<int>(v % e->value_count()));
          if (ev->number() == 0 && e->value_count() > 1) ev = e->value(1);
          rep ? r->AddEnum(m, f, ev) : r->SetEnum(m, f, ev);
          break;
        }
        case FieldDescriptor::CPPTYPE_STRING: {
          std::string s = f->type() == FieldDescriptor::TYPE_BYTES
                              ? std::string("\0\xff\x80 raw", 7) + std::to_string(v)
                              : "/tmp/str-" + std::to_string(v);
          rep ? r->AddString(m, f, s) : r->SetString(m, f, s);
          break;
        }
        case FieldDescriptor::CPPTYPE_MESSAGE:
          if (depth < 4) FillEveryField(rep ? r->AddMessage(m, f) : r->MutableMessage(m, f), v, oneof_member, depth + 1);
          break;
      }
    }
  }
}

// Which ImageKind holds which message type; RegistryCoversEveryTypedKind keeps it honest.
template <typename Msg> constexpr ImageKind kKindOf = ImageKind::kInventory;
template <> constexpr ImageKind kKindOf<img::Inventory> = ImageKind::kInventory;
template <> constexpr ImageKind kKindOf<img::ProcessEntry> = ImageKind::kPstree;
template <> constexpr ImageKind kKindOf<img::FileEntry> = ImageKind::kFiles;
template <> constexpr ImageKind kKindOf<img::TaskCore> = ImageKind::kCore;
template <> constexpr ImageKind kKindOf<img::MmCore> = ImageKind::kMm;
template <> constexpr ImageKind kKindOf<img::PagemapEntry> = ImageKind::kPagemap;
template <> constexpr ImageKind kKindOf<img::FdEntry> = ImageKind::kFdinfo;
template <> constexpr ImageKind kKindOf<img::ObjectData> = ImageKind::kPipeData;
template <> constexpr ImageKind kKindOf<img::TaskTimers> = ImageKind::kTimers;
template <> constexpr ImageKind kKindOf<img::FileLock> = ImageKind::kFileLocks;
template <> constexpr ImageKind kKindOf<img::IpcNamespace> = ImageKind::kIpcNamespace;
template <> constexpr ImageKind kKindOf<img::Namespaces> = ImageKind::kNamespaces;

template <typename Msg>
class MessageRoundTrip : public ::testing::Test {};
// Every message type an image holds; RegistryCoversEveryTypedKind checks none is missing.
#define STASIS_IMAGE_MESSAGES img::Inventory, img::ProcessEntry, img::FileEntry, img::TaskCore, \
                              img::MmCore, img::PagemapEntry, img::FdEntry, img::ObjectData, \
                              img::TaskTimers, img::FileLock, img::IpcNamespace, \
                              img::Namespaces
using ImageMessages = ::testing::Types<STASIS_IMAGE_MESSAGES>;
TYPED_TEST_SUITE(MessageRoundTrip, ImageMessages);

TYPED_TEST(MessageRoundTrip, EveryFieldSurvivesEncodeAndParse) {
  std::vector<TypeParam> in(3);
  FillEveryField(&in[0], 1);
  // in[1] stays empty: a message of zero bytes is legal and must stay one message.
  FillEveryField(&in[2], 2);
  std::vector<std::string> bodies;
  for (const auto& m : in) bodies.push_back(m.SerializeAsString());
  ASSERT_GT(bodies[0].size(), 0u);
  ASSERT_EQ(bodies[1].size(), 0u);

  const std::string file = EncodeMessageImage(kKindOf<TypeParam>, bodies);
  auto out = ParseMessages<TypeParam>(Bytes(file), kKindOf<TypeParam>, "x.img");
  ASSERT_TRUE(out.ok()) << out.error().message();
  ASSERT_EQ(out->size(), in.size());
  for (size_t i = 0; i < in.size(); ++i)
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(in[i], (*out)[i]))
        << "message " << i << ":\n" << in[i].DebugString() << "---\n" << (*out)[i].DebugString();
}

TYPED_TEST(MessageRoundTrip, NoMessagesIsAnEmptyImage) {
  const std::string file = EncodeMessageImage(kKindOf<TypeParam>, {});
  EXPECT_EQ(file.size(), kImageHeaderSize);
  auto out = ParseMessages<TypeParam>(Bytes(file), kKindOf<TypeParam>, "x.img");
  ASSERT_TRUE(out.ok()) << out.error().message();
  EXPECT_TRUE(out->empty());
}

template <typename... Msg>
std::set<const google::protobuf::Descriptor*> DescriptorsOf() {
  return {Msg::descriptor()...};
}

TEST(ImageKinds, RegistryCoversEveryTypedKind) {
  const auto typed = DescriptorsOf<STASIS_IMAGE_MESSAGES>();
  std::set<const google::protobuf::Descriptor*> registered;
  for (const ImageKindInfo& info : KnownImageKinds()) {
    if (info.prototype == nullptr) continue;
    registered.insert(info.prototype->GetDescriptor());
    EXPECT_TRUE(typed.count(info.prototype->GetDescriptor()))
        << info.stem << ": add " << info.prototype->GetDescriptor()->name() << " to STASIS_IMAGE_MESSAGES";
    // And through show's registry-driven decoder, under the kind's own number.
    std::unique_ptr<Message> m(info.prototype->New());
    FillEveryField(m.get(), 7);
    const std::string file = EncodeMessageImage(info.kind, {m->SerializeAsString()});
    auto decoded = DecodeImage(info, Bytes(file), file.size(), "x.img");
    ASSERT_TRUE(decoded.ok()) << info.stem << ": " << decoded.error().message();
    ASSERT_EQ(decoded->messages.size(), 1u);
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*m, *decoded->messages[0]))
        << info.stem;
  }
  EXPECT_EQ(registered, typed);
}

TEST(ImageKinds, EveryOneofMemberRoundTrips) {
  for (const ImageKindInfo& info : KnownImageKinds()) {
    if (info.prototype == nullptr) continue;
    int widest = 1;
    const auto* d = info.prototype->GetDescriptor();
    for (int i = 0; i < d->oneof_decl_count(); ++i) widest = std::max(widest, d->oneof_decl(i)->field_count());
    for (int member = 0; member < widest; ++member) {
      std::unique_ptr<Message> m(info.prototype->New());
      FillEveryField(m.get(), 11 + member, member);
      const std::string file = EncodeMessageImage(info.kind, {m->SerializeAsString()});
      auto decoded = DecodeImage(info, Bytes(file), file.size(), "x.img");
      ASSERT_TRUE(decoded.ok()) << info.stem << ": " << decoded.error().message();
      EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*m, *decoded->messages[0]))
          << info.stem << " oneof member " << member;
    }
  }
}

// ---- Corrupt input: each case asserts the exact message a user would read. ----

std::string ErrorOf(const std::string& file, ImageKind kind = ImageKind::kInventory) {
  auto r = ParseMessages<img::Inventory>(Bytes(file), kind, "inventory.img");
  return r.ok() ? "(no error)" : r.error().message();
}

// An image whose header is valid for whatever payload bytes follow.
std::string WithPayload(const std::string& payload, ImageKind kind = ImageKind::kInventory) {
  ImageHeader h;
  h.kind = kind;
  h.payload_size = payload.size();
  h.payload_crc = Crc32c(0, payload.data(), payload.size());
  return EncodeHeader(h) + payload;
}

std::string GoodImage() {
  img::Inventory inv;
  inv.set_root_pid(42);
  inv.set_kernel_release("6.18.0");
  return EncodeMessageImage(ImageKind::kInventory, {inv.SerializeAsString()});
}

TEST(CorruptImage, EmptyFile) {
  EXPECT_EQ(ErrorOf(""), "inventory.img: truncated header (0 of 32 bytes)");
}

TEST(CorruptImage, TruncatedHeader) {
  EXPECT_EQ(ErrorOf(GoodImage().substr(0, 31)), "inventory.img: truncated header (31 of 32 bytes)");
}

TEST(CorruptImage, TruncatedFile) {
  const std::string good = GoodImage();
  const uint64_t payload = good.size() - kImageHeaderSize;
  EXPECT_EQ(ErrorOf(good.substr(0, good.size() - 1)),
            "inventory.img: header promises " + std::to_string(payload) +
                " payload bytes, file has " + std::to_string(payload - 1));
}

TEST(CorruptImage, TrailingBytes) {
  const std::string good = GoodImage();
  const uint64_t payload = good.size() - kImageHeaderSize;
  EXPECT_EQ(ErrorOf(good + "x"), "inventory.img: header promises " + std::to_string(payload) +
                                     " payload bytes, file has " + std::to_string(payload + 1));
}

TEST(CorruptImage, WrongMagic) {
  std::string f = GoodImage();
  f[0] = 'X';
  EXPECT_EQ(ErrorOf(f), "inventory.img: bad magic, not a stasis image");
}

TEST(CorruptImage, WrongVersion) {
  ImageHeader h;
  h.version = 2;
  EXPECT_EQ(ErrorOf(EncodeHeader(h)),
            "inventory.img: unsupported format version 2 (this stasis reads version 1)");
}

TEST(CorruptImage, WrongKind) {
  EXPECT_EQ(ErrorOf(WithPayload("", ImageKind::kCore)), "inventory.img: image kind 3, expected inventory");
  EXPECT_EQ(ErrorOf(WithPayload(""), ImageKind::kMm), "inventory.img: image kind 1, expected mm");
}

TEST(CorruptImage, HeaderChecksumMismatch) {
  std::string f = GoodImage();
  f[16] ^= 1;  // payload size: covered by the header CRC
  EXPECT_EQ(ErrorOf(f), "inventory.img: header checksum mismatch");
  f = GoodImage();
  f[31] ^= 0x80;  // the header CRC itself
  EXPECT_EQ(ErrorOf(f), "inventory.img: header checksum mismatch");
}

TEST(CorruptImage, PayloadChecksumMismatch) {
  std::string f = GoodImage();
  f.back() ^= 0x20;
  EXPECT_EQ(ErrorOf(f), "inventory.img: payload checksum mismatch");
}

TEST(CorruptImage, LengthVarintPastTheEnd) {
  // One complete empty message, then a length whose continuation bit promises more bytes.
  EXPECT_EQ(ErrorOf(WithPayload(std::string("\x00\x80", 2))), "inventory.img at byte 33: truncated length");
}

TEST(CorruptImage, LengthVarintTooLong) {
  EXPECT_EQ(ErrorOf(WithPayload(std::string(7, '\x80') + '\x01')),
            "inventory.img at byte 32: length varint too long");
}

TEST(CorruptImage, MessageRunsPastTheEnd) {
  EXPECT_EQ(ErrorOf(WithPayload("\x05" "ab")),
            "inventory.img at byte 32: message length 5 runs past the end of the file");
}

TEST(CorruptImage, MessageLargerThanTheCap) {
  // varint (16 MiB + 1) = 0x81 0x80 0x80 0x08
  EXPECT_EQ(ErrorOf(WithPayload("\x81\x80\x80\x08")),
            "inventory.img at byte 32: message of 16777217 bytes exceeds the limit of 16777216");
  // A varint of 2^63 must not wrap into a small length.
  EXPECT_EQ(ErrorOf(WithPayload(std::string(9, '\x80') + '\x01')),
            "inventory.img at byte 32: length varint too long");
}

TEST(CorruptImage, MessageAtTheCapIsAccepted) {
  // Exactly kMaxMessageSize bytes of a bytes field's worth of payload decodes as a container.
  std::string body(kMaxMessageSize, 'a');
  const std::string file = EncodeMessageImage(ImageKind::kPages, {body});
  auto r = DecodeMessageImage(Bytes(file), ImageKind::kPages, "x.img");
  ASSERT_TRUE(r.ok()) << r.error().message();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].size(), kMaxMessageSize);
}

TEST(CorruptImage, TooManyMessages) {
  // kMaxMessagesPerImage + 1 empty messages: each is the single length byte 0.
  EXPECT_EQ(ErrorOf(WithPayload(std::string(kMaxMessagesPerImage + 1, '\0'))),
            "inventory.img: more than 1048576 messages");
}

TEST(CorruptImage, GarbageMessageBytes) {
  const std::string good = GoodImage().substr(kImageHeaderSize);
  // Field number 0 is never valid protobuf.
  EXPECT_EQ(ErrorOf(WithPayload(good + std::string("\x02\x00\x00", 3))),
            "inventory.img: message 1 is not a valid Inventory");
  // A string field (2) claiming 100 bytes in a 3-byte message.
  EXPECT_EQ(ErrorOf(WithPayload("\x03\x12\x64x")), "inventory.img: message 0 is not a valid Inventory");
}

TEST(CorruptImage, ExactlyOneMessageExpected) {
  char dir[] = "/tmp/stasis-image-test-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  img::Inventory inv;
  ASSERT_TRUE(WriteMessages<img::Inventory>(dir, "inventory.img", ImageKind::kInventory, {&inv, &inv}).ok());
  auto r = ReadMessage<img::Inventory>(dir, "inventory.img", ImageKind::kInventory);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "inventory.img: expected exactly one Inventory, found 2");
  auto missing = ReadMessage<img::Inventory>(dir, "nothere.img", ImageKind::kInventory);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message(),
            std::string("nothere.img: open ") + dir + "/nothere.img: No such file or directory");
  std::remove((std::string(dir) + "/inventory.img").c_str());
  rmdir(dir);
}

TEST(ImageHeader, EncodeDecodeRoundTrip) {
  ImageHeader h;
  h.kind = ImageKind::kPages;
  h.payload_size = 0x123456789abcull;
  h.payload_crc = 0xdeadbeef;
  const std::string bytes = EncodeHeader(h);
  ASSERT_EQ(bytes.size(), kImageHeaderSize);
  EXPECT_EQ(bytes.substr(0, 8), std::string("STASIS\0\1", 8));
  auto d = DecodeHeader(Bytes(bytes), ImageKind::kPages, "pages-1.img");
  ASSERT_TRUE(d.ok()) << d.error().message();
  EXPECT_EQ(d->version, kImageFormatVersion);
  EXPECT_EQ(d->kind, ImageKind::kPages);
  EXPECT_EQ(d->payload_size, h.payload_size);
  EXPECT_EQ(d->payload_crc, h.payload_crc);
}

TEST(ImageHeader, LittleEndianLayout) {
  ImageHeader h;
  h.kind = ImageKind::kCore;
  h.payload_size = 0x0102030405060708ull;
  h.payload_crc = 0x0a0b0c0d;
  const std::string b = EncodeHeader(h);
  EXPECT_EQ(b.substr(8, 4), std::string("\x01\0\0\0", 4));
  EXPECT_EQ(b.substr(12, 4), std::string("\x03\0\0\0", 4));
  EXPECT_EQ(b.substr(16, 8), "\x08\x07\x06\x05\x04\x03\x02\x01");
  EXPECT_EQ(b.substr(24, 4), "\x0d\x0c\x0b\x0a");
  const uint32_t crc = Crc32c(0, b.data(), 28);
  EXPECT_EQ(static_cast<uint8_t>(b[28]), crc & 0xff);
  EXPECT_EQ(static_cast<uint8_t>(b[31]), crc >> 24);
}

}  // namespace
}  // namespace stasis::images
