// fuzz_pstree: pstree.img through both image parsers, round trips and the show views.
#include "engine/images/pstree.pb.h"
#include "fuzz/message_image_fuzzer.h"

STASIS_MESSAGE_IMAGE_FUZZER(stasis::img::ProcessEntry, "pstree.img")
