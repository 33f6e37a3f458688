// fuzz_files: files.img through both image parsers, round trips and the show views.
#include "engine/images/files.pb.h"
#include "fuzz/message_image_fuzzer.h"

STASIS_MESSAGE_IMAGE_FUZZER(stasis::img::FileEntry, "files.img")
