// fuzz_memfd_data: memfd-data.img through both image parsers, round trips and the show views.
#include "engine/images/object_data.pb.h"
#include "fuzz/message_image_fuzzer.h"

STASIS_MESSAGE_IMAGE_FUZZER(stasis::img::ObjectData, "memfd-data.img")
