// fuzz_core: core-1.img through both image parsers, round trips and the show views.
#include "engine/images/core.pb.h"
#include "fuzz/message_image_fuzzer.h"

STASIS_MESSAGE_IMAGE_FUZZER(stasis::img::TaskCore, "core-1.img")
