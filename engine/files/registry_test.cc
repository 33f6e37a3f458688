// The one table: every module is found from both sides and no two share a name or an entry.
#include "engine/files/registry.h"

#include <gtest/gtest.h>

#include <set>

namespace stasis::files {
namespace {

TEST(FileKindRegistry, NamesAndEntriesAreUniqueAndFoundBack) {
  std::set<std::string> names;
  std::set<int> cases;
  for (const FileKind* kind : AllFileKinds()) {
    EXPECT_TRUE(names.insert(kind->name()).second) << kind->name();
    EXPECT_TRUE(cases.insert(kind->entry_case()).second) << kind->name();
    EXPECT_NE(kind->entry_case(), img::FileEntry::FILE_NOT_SET) << kind->name();
    img::FileEntry entry;
    // Selecting the oneof member by its field number, as an image would.
    const auto* field = img::FileEntry::descriptor()->FindFieldByNumber(kind->entry_case());
    ASSERT_NE(field, nullptr) << kind->name();
    entry.GetReflection()->MutableMessage(&entry, field);
    EXPECT_EQ(FindKindFor(entry), kind) << kind->name();
  }
  EXPECT_EQ(names.size(), 10u);
  img::FileEntry reg;
  reg.mutable_reg();
  EXPECT_EQ(FindKindFor(reg), nullptr) << "regular files are not a module of this table";
}

TEST(FileKindRegistry, OnlyEpollOpensAfterTheOthers) {
  for (const FileKind* kind : AllFileKinds())
    EXPECT_EQ(kind->phase() == OpenPhase::kAfterOthers, std::string(kind->name()) == "epoll") << kind->name();
}

}  // namespace
}  // namespace stasis::files
